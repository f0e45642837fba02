package web

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// Pager is one page of a list: which page, how many rows a page, how many in all. Every
// console list is paginated through it; views/console/_pager.html draws it.
type Pager struct {
	Page  int
	Size  int
	Total int
	query url.Values
	path  string
}

// NewPager reads ?page= (and keeps the other query parameters for the links).
func NewPager(c *fiber.Ctx, size int) *Pager {
	page, _ := strconv.Atoi(c.Query("page"))
	if page < 1 {
		page = 1
	}
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	return &Pager{Page: page, Size: size, query: q, path: c.Path()}
}

// Offset is the first row of the page.
func (p *Pager) Offset() int { return (p.Page - 1) * p.Size }

// Pages is how many pages there are (at least one).
func (p *Pager) Pages() int {
	if p.Total == 0 {
		return 1
	}
	return (p.Total + p.Size - 1) / p.Size
}

func (p *Pager) HasPrev() bool { return p.Page > 1 }
func (p *Pager) HasNext() bool { return p.Page < p.Pages() }
func (p *Pager) Prev() int     { return p.Page - 1 }
func (p *Pager) Next() int     { return p.Page + 1 }

// URL is the address of page n with the same filters.
func (p *Pager) URL(n int) string {
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	return p.path + "?" + q.Encode()
}
