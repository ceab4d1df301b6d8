package web

import (
	"context"
	"net/http"
	"time"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// LinkStore changes a room's access setting and link key. An AdminStore
// that also implements it (dialplan.Store does) enables the link and
// access endpoints of the admin API.
type LinkStore interface {
	LinkPolicies
	SetRoomAccess(ctx context.Context, slug, access string) error
	Relink(ctx context.Context, slug string, now time.Time) (dialplan.LinkPolicy, error)
}

// DefaultLinkLifetime is how long a join link lives when its maker does
// not say.
const DefaultLinkLifetime = 30 * 24 * time.Hour

// routeLinks adds the join link and access endpoints through api.
func (s *server) routeLinks(api func(pattern string, h http.HandlerFunc)) {
	api("POST /api/v1/rooms/{slug}/links", s.apiMakeLink)
	api("POST /api/v1/rooms/{slug}/relink", s.apiRelink)
	api("GET /api/v1/rooms/{slug}/access", s.apiAccess)
	api("PATCH /api/v1/rooms/{slug}/access", s.apiSetAccess)
}

// linkStore returns the admin store's link settings or answers 501.
func (s *server) linkStore(w http.ResponseWriter) LinkStore {
	ls, ok := s.admin.(LinkStore)
	if !ok {
		writeAPIError(w, http.StatusNotImplemented, "unsupported", "join links need the database store")
	}
	return ls
}

// makeLinkRequest is the body of POST /api/v1/rooms/{slug}/links.
type makeLinkRequest struct {
	Role    string `json:"role"`    // "moderator" or "participant"
	Expires string `json:"expires"` // "7d", "12h", "never"; "": 30 days
}

// apiLink is a join link just made.
type apiLink struct {
	Role      string `json:"role"`
	Path      string `json:"path"`      // /r/{slug}?mod=TOKEN
	ExpiresAt int64  `json:"expiresAt"` // Unix seconds; 0: never
}

func (s *server) apiMakeLink(w http.ResponseWriter, r *http.Request) {
	ls := s.linkStore(w)
	if ls == nil {
		return
	}
	var in makeLinkRequest
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Role != sfu.RoleModerator && in.Role != sfu.RoleParticipant {
		writeAPIError(w, http.StatusBadRequest, "invalid", `role: want "moderator" or "participant"`)
		return
	}
	life := DefaultLinkLifetime
	if in.Expires != "" {
		var err error
		if life, err = dialplan.ParseLifetime(in.Expires); err != nil {
			s.storeError(w, "make link", err)
			return
		}
	}
	slug := r.PathValue("slug")
	p, err := ls.RoomLinkPolicy(r.Context(), slug)
	if err != nil {
		s.storeError(w, "make link", err)
		return
	}
	now := time.Now()
	var exp time.Time
	if life > 0 {
		exp = now.Add(life)
	}
	token, err := JoinLinkToken(s.modSecret, p, in.Role, exp)
	if err != nil {
		s.log.Error("admin api: make link", "room", slug, "err", err)
		writeAPIError(w, http.StatusInternalServerError, "internal", "join links are not configured")
		return
	}
	s.audit(r, "room.link", slug, in.Role)
	writeAPIJSON(w, http.StatusCreated, apiLink{Role: in.Role, Path: JoinLinkPath(slug, token), ExpiresAt: unixOrZero(exp)})
}

// apiAccessInfo is a room's access setting.
type apiAccessInfo struct {
	Access     string `json:"access"`     // "open", "signed-in" or "lobby"
	RelinkedAt int64  `json:"relinkedAt"` // Unix seconds of the last relink; 0: never
}

func (s *server) apiRelink(w http.ResponseWriter, r *http.Request) {
	ls := s.linkStore(w)
	if ls == nil {
		return
	}
	slug := r.PathValue("slug")
	p, err := ls.Relink(r.Context(), slug, time.Now())
	if err != nil {
		s.storeError(w, "relink", err)
		return
	}
	s.audit(r, "room.relink", slug, "")
	writeAPIJSON(w, http.StatusOK, apiAccessInfo{Access: p.Access, RelinkedAt: unixOrZero(p.RelinkedAt)})
}

func (s *server) apiAccess(w http.ResponseWriter, r *http.Request) {
	ls := s.linkStore(w)
	if ls == nil {
		return
	}
	p, err := ls.RoomLinkPolicy(r.Context(), r.PathValue("slug"))
	if err != nil {
		s.storeError(w, "access", err)
		return
	}
	writeAPIJSON(w, http.StatusOK, apiAccessInfo{Access: p.Access, RelinkedAt: unixOrZero(p.RelinkedAt)})
}

// setAccessRequest is the body of PATCH /api/v1/rooms/{slug}/access.
type setAccessRequest struct {
	Access string `json:"access"`
}

func (s *server) apiSetAccess(w http.ResponseWriter, r *http.Request) {
	ls := s.linkStore(w)
	if ls == nil {
		return
	}
	var in setAccessRequest
	if !decodeBody(w, r, &in) {
		return
	}
	slug := r.PathValue("slug")
	if err := ls.SetRoomAccess(r.Context(), slug, in.Access); err != nil {
		s.storeError(w, "set access", err)
		return
	}
	s.audit(r, "room.access", slug, in.Access)
	s.apiAccess(w, r)
}
