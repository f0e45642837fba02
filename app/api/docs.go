package api

import (
	"bytes"
	"html/template"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"campuspay/docs"
)

// rendered is API.md and its examples as HTML, made once. goldmark leaves raw HTML in the
// Markdown out (it is not rendered unless asked to be), so the result is safe to embed.
var rendered = sync.OnceValues(func() (template.HTML, template.HTML) {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	html := func(src []byte) template.HTML {
		var buf bytes.Buffer
		if err := md.Convert(src, &buf); err != nil {
			return template.HTML("<p>文档暂时无法显示。</p>")
		}
		return template.HTML(buf.String())
	}
	return html(docs.API), html(docs.APIExamples)
})

// docs is GET /docs/api: the integration API's contract and examples, for business
// systems' programmers. Public.
func (h *Handler) docs(c *fiber.Ctx) error {
	contract, examples := rendered()
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return h.Render.Render(c, "docs/api", "接口文档", fiber.Map{"Contract": contract, "Examples": examples})
}
