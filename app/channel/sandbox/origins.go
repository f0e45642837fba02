package sandbox

// FormOrigins is where the payer is sent to pay: the gateway's own pay page. The page's
// Content-Security-Policy lets a form's answer redirect there (for the built-in simulator
// that is the platform's own origin).
func (c *Channel) FormOrigins() []string { return []string{c.gateway} }
