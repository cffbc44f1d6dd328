package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/hangar-mq/hangar/core/subject"
)

// clientPerms is the compiled form of Permissions. It is immutable once
// built and shared by every connection of the user.
//
// Subscribe entries may name a queue group ("subject queue"): such an
// entry admits or refuses only queue subscriptions in that group. The
// lists are Sublists so that a subscription's own wildcards are matched as
// tokens, the way the reference checks them: allow "foo.*" admits
// "foo.>", deny "foo.*" refuses it.
type clientPerms struct {
	pubAllow *subject.Sublist[int]
	pubDeny  *subject.Sublist[int]
	subAllow *subject.Sublist[int]
	subDeny  *subject.Sublist[int]
	// plainDeny is subDeny without queue entries: what deliveries to a
	// wildcard subscription are filtered with.
	plainDeny *subject.Sublist[int]
	resp      *ResponsePermission
	src       *Permissions
}

type respPerm struct {
	n       int
	expires time.Time
}

// compilePerms validates p and builds its lookup structures; nil means
// "no restrictions".
func compilePerms(p *Permissions) (*clientPerms, error) {
	if p == nil {
		return nil, nil
	}
	cp := &clientPerms{resp: p.Response, src: p}
	build := func(list []string, queues bool) (*subject.Sublist[int], error) {
		if list == nil {
			return nil, nil
		}
		sl := subject.NewSublist[int]()
		for i, e := range list {
			subj, queue := e, ""
			if queues {
				if f := strings.Fields(e); len(f) == 2 {
					subj, queue = f[0], f[1]
				}
			}
			if !subject.Valid(subj) {
				return nil, fmt.Errorf("invalid permission subject %q", e)
			}
			sl.Insert(subj, queue, i)
		}
		return sl, nil
	}
	var err error
	if p.Publish != nil {
		if cp.pubAllow, err = build(p.Publish.Allow, false); err != nil {
			return nil, err
		}
		if cp.pubDeny, err = build(p.Publish.Deny, false); err != nil {
			return nil, err
		}
	}
	if p.Subscribe != nil {
		if cp.subAllow, err = build(p.Subscribe.Allow, true); err != nil {
			return nil, err
		}
		if cp.subDeny, err = build(p.Subscribe.Deny, true); err != nil {
			return nil, err
		}
		var plain []string
		for _, e := range p.Subscribe.Deny {
			if len(strings.Fields(e)) == 1 {
				plain = append(plain, e)
			}
		}
		if len(plain) > 0 {
			cp.plainDeny, _ = build(plain, false)
		}
	}
	if cp.resp != nil && cp.pubAllow == nil {
		// allow_responses without a publish allow list means "only
		// responses may be published".
		cp.pubAllow = subject.NewSublist[int]()
	}
	return cp, nil
}

// pubAllowed checks the publish lists alone.
func (p *clientPerms) pubAllowed(s string) bool {
	if p.pubAllow != nil && p.pubAllow.Match(s).Empty() {
		return false
	}
	return p.pubDeny == nil || p.pubDeny.Match(s).Empty()
}

// canPublish checks publish permissions, including reply subjects granted
// by allow_responses. It runs on the read loop, which owns pubCache.
func (c *Client) canPublish(p *clientPerms, subj []byte) bool {
	if c.pubCachePerms != p {
		clear(c.pubCache)
		c.pubCachePerms = p
	}
	allowed, ok := c.pubCache[string(subj)]
	if !ok {
		s := string(subj)
		allowed = p.pubAllowed(s)
		if c.pubCache == nil {
			c.pubCache = make(map[string]bool, 16)
		} else if len(c.pubCache) >= pubCacheMax {
			clear(c.pubCache)
		}
		c.pubCache[s] = allowed
	}
	if allowed || p.resp == nil {
		return allowed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.replies[string(subj)]
	if !ok {
		return false
	}
	if time.Now().After(r.expires) || r.n <= 0 {
		delete(c.replies, string(subj))
		return false
	}
	if r.n--; r.n == 0 {
		delete(c.replies, string(subj))
	}
	return true
}

const pubCacheMax = 128

// subAllowed checks a subscription against the lists.
func (p *clientPerms) subAllowed(subj, queue string) bool {
	if p == nil {
		return true
	}
	if p.subAllow != nil && !permHit(p.subAllow, subj, queue) {
		return false
	}
	return p.subDeny == nil || !permHit(p.subDeny, subj, queue)
}

// permHit reports whether a plain entry, or a queue entry naming queue,
// matches subj.
func permHit(sl *subject.Sublist[int], subj, queue string) bool {
	r := sl.Match(subj)
	if len(r.Psubs) > 0 {
		return true
	}
	if queue == "" {
		return false
	}
	for _, q := range r.Queues {
		if q == queue {
			return true
		}
	}
	return false
}

// canSubscribe checks subscribe permissions.
func (c *Client) canSubscribe(subj, queue string) bool {
	return c.perms.Load().subAllowed(subj, queue)
}

// needsDeliveryCheck reports whether deliveries to a subscription on subj
// must be filtered: a wildcard subscription that was admitted although
// some subjects under it are denied must not receive those.
func (p *clientPerms) needsDeliveryCheck(subj string) bool {
	return p != nil && p.plainDeny != nil && subject.HasWildcard(subj)
}

// deliveryDenied reports whether the subscriber may not receive subj.
func (p *clientPerms) deliveryDenied(subj []byte) bool {
	return p != nil && p.plainDeny != nil && !p.plainDeny.Match(string(subj)).Empty()
}

// noteReplyLocked grants the client the right to publish to reply, the
// reply subject of a request delivered to it. Held: c.mu.
func (c *Client) noteReplyLocked(resp *ResponsePermission, reply []byte) {
	if c.replies == nil {
		c.replies = make(map[string]*respPerm)
	}
	max := resp.MaxMsgs
	if max <= 0 {
		max = 1
	}
	exp := resp.Expires
	if exp <= 0 {
		exp = 2 * time.Minute
	}
	c.replies[string(reply)] = &respPerm{n: max, expires: time.Now().Add(exp)}
	if len(c.replies) > 10000 {
		now := time.Now()
		for k, r := range c.replies {
			if now.After(r.expires) {
				delete(c.replies, k)
			}
		}
	}
}
