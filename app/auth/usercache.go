package auth

import (
	"sync"
	"time"

	"github.com/uptrace/bun"

	"campuspay/store"
)

// userTTL is how long a signed-in user's row is trusted before it is read again. A change
// made on this instance (roles, department, disabled) applies at once — the instance
// forgets the row — and one made on another instance within this time.
const userTTL = 2 * time.Second

// userCache keeps the rows of users who made requests in the last userTTL, so that a
// signed-in page costs no query for who the user is.
type userCache struct {
	mu    sync.Mutex
	users map[userKey]cachedUser
}

// userKey names a user of one database: tests, and any process serving two platforms, keep
// several databases whose user ids overlap.
type userKey struct {
	db *bun.DB
	id int64
}

type cachedUser struct {
	u  *store.User
	at time.Time
}

var users = &userCache{users: map[userKey]cachedUser{}}

func (c *userCache) get(db *bun.DB, id int64, now time.Time) (*store.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[userKey{db, id}]
	if !ok || now.Sub(e.at) > userTTL {
		return nil, false
	}
	return e.u, true
}

func (c *userCache) put(db *bun.DB, u *store.User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.users) > 50_000 { // a crowd passed: start again rather than track each entry's age
		c.users = map[userKey]cachedUser{}
	}
	c.users[userKey{db, u.ID}] = cachedUser{u: u, at: now}
}

// forgetUser drops a user's row after a change to it on this instance.
func forgetUser(db *bun.DB, id int64) {
	users.mu.Lock()
	delete(users.users, userKey{db, id})
	users.mu.Unlock()
}
