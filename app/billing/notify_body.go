package billing

import (
	"fmt"

	"campuspay/store"
)

// RejectedBodyKept is how much of a rejected notification's body is stored: enough to see
// what was sent (a real notification is 1–5 KB, so most are kept whole), not enough for a
// flood of forged posts to fill the table.
const RejectedBodyKept = 4 << 10

// clipRejected keeps the first RejectedBodyKept bytes of a rejected notification's body
// (cut on a UTF-8 boundary) and marks the cut with the original length.
func clipRejected(body string) string {
	if len(body) <= RejectedBodyKept {
		return body
	}
	return store.Clip(body, RejectedBodyKept) + fmt.Sprintf("…[truncated: %d bytes received]", len(body))
}
