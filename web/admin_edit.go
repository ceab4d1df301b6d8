package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"dialroom/auth"
	"dialroom/dialplan"
)

// TrunkInfo is one configured SIP trunk as the admin console shows it.
type TrunkInfo struct {
	Name     string   `json:"name"`
	Sources  []string `json:"sources"`            // IPs or prefixes its calls come from
	Auth     bool     `json:"auth"`               // calls must answer a digest challenge
	Register string   `json:"register,omitempty"` // registrar host:port; "" for none
	// State is "ready" for a trunk without registration, else "registered",
	// "expired", "failed" or "unknown" (no state written yet).
	State     string    `json:"state"`
	Until     time.Time `json:"until,omitzero"`     // registration expires then
	LastError string    `json:"lastError,omitzero"` // why the last registration failed
	RetryAt   time.Time `json:"retryAt,omitzero"`   // after a failure: the next attempt then
	// Origin is "config" for a trunk of the configuration file (read-only)
	// or "stored" for one added by the CLI or the API.
	Origin       string `json:"origin"`
	Username     string `json:"username,omitempty"`           // digest user; the password is never shown
	MaxCalls     int    `json:"maxCalls,omitempty"`           // 0: no limit
	MaxDuration  int    `json:"maxDurationSeconds,omitempty"` // 0: no limit
	SRTP         string `json:"srtp,omitempty"`               // "optional", "required" or "off"
	RegUser      string `json:"regUser,omitempty"`            // registration user
	RegDomain    string `json:"regDomain,omitempty"`
	RegTransport string `json:"regTransport,omitempty"`
	// Transport is the SIP transport: a registration trunk's ("udp",
	// "tcp" or "tls"), or for an IP trunk every listener it may call over
	// ("udp,tcp" or "udp,tcp,tls").
	Transport string `json:"transport,omitempty"`
}

// TrunkLister lists the configured trunks with their current state.
type TrunkLister interface {
	Trunks(ctx context.Context) ([]TrunkInfo, error)
}

// apiRoomChange is the body of PATCH /api/v1/rooms/{slug}: absent fields
// stay as they are; a PIN or moderator PIN of "" removes it. DialCode is
// the room's new dial-in code (4-8 digits, unique).
type apiRoomChange struct {
	Name         *string `json:"name"`
	Lang         *string `json:"lang"`
	PIN          *string `json:"pin"`
	ModeratorPIN *string `json:"moderatorPin"`
	DialCode     *string `json:"dialCode"`
}

// apiUpdateRoom changes a room's title, language, PIN, moderator PIN or
// dial-in code.
func (s *server) apiUpdateRoom(w http.ResponseWriter, r *http.Request) {
	var in apiRoomChange
	if !decodeBody(w, r, &in) {
		return
	}
	slug := r.PathValue("slug")
	rm, err := s.admin.UpdateRoom(r.Context(), slug, dialplan.RoomChange{
		Name: in.Name, Lang: in.Lang, PIN: in.PIN, ModeratorPIN: in.ModeratorPIN, DialCode: in.DialCode})
	if err != nil {
		s.storeError(w, "update room", err)
		return
	}
	nums, err := s.admin.Numbers(r.Context())
	if err != nil {
		s.storeError(w, "numbers", err)
		return
	}
	s.log.Info("admin: room changed", "room", rm.Slug, "name", in.Name != nil, "lang", in.Lang != nil,
		"pin", in.PIN != nil, "moderator_pin", in.ModeratorPIN != nil, "dial_code", in.DialCode != nil)
	s.audit(r, "room.update", rm.Slug, changedFields(in))
	writeAPIJSON(w, http.StatusOK, s.toAPIRoom(rm, nums, s.liveRosters()))
}

// apiTrunks lists the trunks; without a TrunkLister the list is empty.
func (s *server) apiTrunks(w http.ResponseWriter, r *http.Request) {
	out := []TrunkInfo{}
	if s.trunks != nil {
		list, err := s.trunks.Trunks(r.Context())
		if err != nil {
			s.storeError(w, "trunks", err)
			return
		}
		out = append(out, list...)
	}
	writeAPIJSON(w, http.StatusOK, out)
}

// AuditStore keeps the audit log of admin actions. An AdminStore that also
// implements it (as *dialplan.Store does) gets every change the admin API
// makes recorded, and GET /api/v1/audit lists them.
type AuditStore interface {
	AddAudit(ctx context.Context, e dialplan.AuditEntry) error
	AuditLog(ctx context.Context, since time.Time, limit int) ([]dialplan.AuditEntry, error)
}

// maxAuditList bounds the entries one GET /api/v1/audit returns.
const maxAuditList = 5000

// auditStore returns the admin store's audit log, or nil.
func (s *server) auditStore() AuditStore {
	a, _ := s.admin.(AuditStore)
	return a
}

// auditActor names who made request r: the signed-in console user, else
// the bearer of the admin token.
func (s *server) auditActor(r *http.Request) string {
	// A session counts only with the admin role: a moderator's cookie sent
	// alongside the admin token must not put the moderator's name on the
	// token's action.
	if sess, ok := s.sessionFor(r); ok && sess.user != "" && sess.role == auth.RoleAdmin {
		return "admin:" + sess.user
	}
	if t, ok := requestToken(r); ok {
		return "token:" + t.Name
	}
	return "admin-token"
}

// audit records one admin action. A failure is logged, not answered: the
// change itself was made.
func (s *server) audit(r *http.Request, action, target, detail string) {
	a := s.auditStore()
	if a == nil {
		return
	}
	e := dialplan.AuditEntry{Actor: s.auditActor(r), Action: action, Target: target, Detail: detail}
	if err := a.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Warn("audit log write failed", "action", action, "err", err)
	}
}

// apiAudit lists the audit log: ?since= an RFC 3339 time or a duration
// back from now (e.g. 24h; default 30 days), ?limit= at most that many of
// the newest entries (default and maximum 5000), oldest first.
func (s *server) apiAudit(w http.ResponseWriter, r *http.Request) {
	a := s.auditStore()
	if a == nil {
		writeAPIJSON(w, http.StatusOK, []dialplan.AuditEntry{})
		return
	}
	since, err := parseSince(r.URL.Query().Get("since"), time.Now())
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	limit := maxAuditList
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeAPIError(w, http.StatusBadRequest, "invalid", "limit must be a positive number")
			return
		}
		limit = min(n, maxAuditList)
	}
	list, err := a.AuditLog(r.Context(), since, limit)
	if err != nil {
		s.storeError(w, "audit log", err)
		return
	}
	writeAPIJSON(w, http.StatusOK, list)
}

// parseSince reads an RFC 3339 time or a duration before now ("" = 30 days).
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return now.Add(-30 * 24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, errors.New("since must be an RFC 3339 time or a duration such as 24h")
	}
	return now.Add(-d), nil
}

// changedFields lists the fields a room change sets, never their values
// (PINs are secret).
func changedFields(c apiRoomChange) string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{c.Name != nil, "name"}, {c.Lang != nil, "lang"}, {c.PIN != nil, "pin"},
		{c.ModeratorPIN != nil, "moderatorPin"}, {c.DialCode != nil, "dialCode"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ",")
}
