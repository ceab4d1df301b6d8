package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// minSessionExpires is our Min-SE (RFC 4028 §5: at least 90 s).
const minSessionExpires = 90

// sessionTimer is what RFC 4028 asks of a call: who refreshes, how often.
type sessionTimer struct {
	interval  time.Duration // Session-Expires; 0 means no session timer
	weRefresh bool          // refresher=uas: we send the refreshing UPDATE
}

// parseSessionTimer reads Session-Expires from a request. tooSmall means
// the interval is below minSE and the request must get 422 (§8.1).
func parseSessionTimer(req *sip.Request, minSE int) (st sessionTimer, tooSmall bool) {
	h := req.GetHeader("Session-Expires")
	if h == nil {
		h = req.GetHeader("x") // compact form of Session-Expires (§4)
	}
	if h == nil {
		return sessionTimer{}, false
	}
	val, params, _ := strings.Cut(h.Value(), ";")
	secs, err := strconv.Atoi(strings.TrimSpace(val))
	if err != nil || secs <= 0 {
		return sessionTimer{}, false // malformed: ignore the extension
	}
	if secs < minSE {
		return sessionTimer{}, true
	}
	refresher := ""
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "refresher") {
			refresher = strings.ToLower(strings.TrimSpace(v))
		}
	}
	// A UAC that does not support timer cannot refresh (§9): we do.
	weRefresh := refresher == "uas" || !supportsTimer(req)
	return sessionTimer{interval: time.Duration(secs) * time.Second, weRefresh: weRefresh}, false
}

func supportsTimer(req *sip.Request) bool {
	for _, name := range []string{"Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			for _, opt := range strings.Split(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(opt), "timer") {
					return true
				}
			}
		}
	}
	return false
}

// headers are the Session-Expires (and Require) of our 2xx (§9).
func (st sessionTimer) headers() []sip.Header {
	if st.interval == 0 {
		return nil
	}
	refresher := "uac"
	if st.weRefresh {
		refresher = "uas"
	}
	hs := []sip.Header{sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(st.interval/time.Second), refresher))}
	if !st.weRefresh {
		hs = append(hs, sip.NewHeader("Require", "timer"))
	}
	return hs
}

// next is how long to wait from a refresh until we act: refresh at half the
// interval, or give up (BYE) when the peer's refresh is overdue, which is
// the interval minus min(32 s, interval/3) (§10).
func (st sessionTimer) next() time.Duration {
	if st.weRefresh {
		return st.interval / 2
	}
	return st.interval - min(32*time.Second, st.interval/3)
}

// sessionTimerHeaders answers the timer part of a refreshing request.
func sessionTimerHeaders(req *sip.Request, minSE int) []sip.Header {
	st, tooSmall := parseSessionTimer(req, minSE)
	if tooSmall {
		return nil
	}
	return st.headers()
}

// refreshSession sends a body-less UPDATE (RFC 4028 §7.4, RFC 3311) in
// the background and reports on c.refreshed whether the dialog is still
// alive: 408, 481 or no answer at all end it (§10); other errors (e.g. 501
// from a peer without UPDATE) leave the call up.
func (c *call) refreshSession(ctx context.Context) {
	inv := c.dlg.InviteRequest
	req := sip.NewRequest(sip.UPDATE, inv.Contact().Address)
	req.SetTransport(inv.Transport())
	if strings.EqualFold(inv.Transport(), "udp") {
		req.Laddr = c.laddr
	}
	req.AppendHeader(sip.HeaderClone(&c.contact)) // a target refresh (RFC 3311 §5.1)
	req.AppendHeader(sip.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=uas", int(c.session.interval/time.Second))))
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		ctx, cancel := context.WithTimeout(ctx, 32*time.Second)
		defer cancel()
		alive := true
		res, err := c.dlg.Do(ctx, req)
		if err != nil {
			c.log.Info("session refresh failed", "error", err)
			alive = false
		} else if res.StatusCode == 408 || res.StatusCode == 481 {
			alive = false
		}
		c.refreshed <- alive // buffered: the call may have ended
	}()
}
