package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"dialroom/dialplan"
)

// TrunkEditor changes the trunks stored in the database. A TrunkLister
// that also implements it gets POST, PATCH and DELETE /api/v1/trunks; it
// refuses the names of trunks from the configuration file (ErrExists) and
// makes the SIP server apply a change at once.
type TrunkEditor interface {
	AddTrunk(ctx context.Context, t dialplan.StoredTrunk) error
	UpdateTrunk(ctx context.Context, name string, c dialplan.TrunkChange) error
	RemoveTrunk(ctx context.Context, name string) error
}

// apiTrunkIn is the body of POST /api/v1/trunks (name required) and PATCH
// /api/v1/trunks/{name} (absent fields stay as they are). Passwords are
// write-only: no answer ever contains one.
type apiTrunkIn struct {
	Name        string            `json:"name"`
	Sources     *[]string         `json:"sources"`
	Username    *string           `json:"username"` // digest (407) user; "" removes the challenge
	Password    *string           `json:"password"`
	MaxCalls    *int              `json:"maxCalls"`
	MaxDuration *int              `json:"maxDurationSeconds"`
	SRTP        *string           `json:"srtp"`
	Register    *apiTrunkRegister `json:"register"`
	NoRegister  bool              `json:"noRegister"` // PATCH: stop registering
}

// apiTrunkRegister is a trunk's registration; a PATCH without password
// keeps the stored one.
type apiTrunkRegister struct {
	Registrar      string `json:"registrar"`
	Transport      string `json:"transport"`
	Username       string `json:"username"`
	Password       string `json:"password"`
	Domain         string `json:"domain"`
	ExpiresSeconds int    `json:"expiresSeconds"`
}

// maxAPISeconds bounds durations in seconds (a year), so that converting
// them cannot overflow.
const maxAPISeconds = 366 * 24 * 3600

// checkSeconds refuses durations out of range with a 400.
func checkSeconds(w http.ResponseWriter, in apiTrunkIn) bool {
	bad := in.MaxDuration != nil && (*in.MaxDuration < 0 || *in.MaxDuration > maxAPISeconds)
	if r := in.Register; r != nil && (r.ExpiresSeconds < 0 || r.ExpiresSeconds > maxAPISeconds) {
		bad = true
	}
	if bad {
		writeAPIError(w, http.StatusBadRequest, "invalid", "durations are seconds between 0 and one year")
	}
	return !bad
}

func (r *apiTrunkRegister) toStore() *dialplan.TrunkRegistration {
	if r == nil {
		return nil
	}
	return &dialplan.TrunkRegistration{Registrar: r.Registrar, Transport: r.Transport, Username: r.Username,
		Password: r.Password, Domain: r.Domain, Expires: time.Duration(r.ExpiresSeconds) * time.Second}
}

// trunkEditor returns the editor, or answers 404 when trunks cannot be
// changed through the API.
func (s *server) trunkEditor(w http.ResponseWriter) (TrunkEditor, bool) {
	ed, ok := s.trunks.(TrunkEditor)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "not_found", "trunks cannot be changed here")
	}
	return ed, ok
}

// apiAddTrunk stores a new trunk.
func (s *server) apiAddTrunk(w http.ResponseWriter, r *http.Request) {
	ed, ok := s.trunkEditor(w)
	if !ok {
		return
	}
	var in apiTrunkIn
	if !decodeBody(w, r, &in) || !checkSeconds(w, in) {
		return
	}
	if in.NoRegister {
		writeAPIError(w, http.StatusBadRequest, "invalid", "noRegister is for PATCH")
		return
	}
	t := dialplan.StoredTrunk{Name: in.Name, Register: in.Register.toStore()}
	if in.Sources != nil {
		t.Sources = *in.Sources
	}
	t.Username, t.Password, t.SRTP = deref(in.Username), deref(in.Password), deref(in.SRTP)
	if in.MaxCalls != nil {
		t.MaxCalls = *in.MaxCalls
	}
	if in.MaxDuration != nil {
		t.MaxDuration = time.Duration(*in.MaxDuration) * time.Second
	}
	if err := ed.AddTrunk(r.Context(), t); err != nil {
		s.storeError(w, "add trunk", err)
		return
	}
	s.log.Info("admin: trunk added", "trunk", t.Name, "register", t.Register != nil)
	s.audit(r, "trunk.add", t.Name, "")
	s.writeTrunk(w, r, http.StatusCreated, t.Name)
}

// apiUpdateTrunk changes a stored trunk.
func (s *server) apiUpdateTrunk(w http.ResponseWriter, r *http.Request) {
	ed, ok := s.trunkEditor(w)
	if !ok {
		return
	}
	var in apiTrunkIn
	if !decodeBody(w, r, &in) || !checkSeconds(w, in) {
		return
	}
	name := r.PathValue("name")
	if in.Name != "" && in.Name != name {
		writeAPIError(w, http.StatusBadRequest, "invalid", "a trunk cannot be renamed")
		return
	}
	c := dialplan.TrunkChange{Sources: in.Sources, Username: in.Username, Password: in.Password,
		MaxCalls: in.MaxCalls, SRTP: in.SRTP, Register: in.Register.toStore(), NoRegister: in.NoRegister}
	if in.MaxDuration != nil {
		d := time.Duration(*in.MaxDuration) * time.Second
		c.MaxDuration = &d
	}
	if err := ed.UpdateTrunk(r.Context(), name, c); err != nil {
		s.storeError(w, "update trunk", err)
		return
	}
	s.log.Info("admin: trunk changed", "trunk", name)
	s.audit(r, "trunk.update", name, changedTrunkFields(in))
	s.writeTrunk(w, r, http.StatusOK, name)
}

// apiRemoveTrunk deletes a stored trunk; its calls in progress go on.
func (s *server) apiRemoveTrunk(w http.ResponseWriter, r *http.Request) {
	ed, ok := s.trunkEditor(w)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := ed.RemoveTrunk(r.Context(), name); err != nil {
		s.storeError(w, "remove trunk", err)
		return
	}
	s.log.Info("admin: trunk removed", "trunk", name)
	s.audit(r, "trunk.remove", name, "")
	w.WriteHeader(http.StatusNoContent)
}

// writeTrunk answers with the trunk name as the list shows it.
func (s *server) writeTrunk(w http.ResponseWriter, r *http.Request, status int, name string) {
	list, err := s.trunks.Trunks(r.Context())
	if err != nil {
		s.storeError(w, "trunks", err)
		return
	}
	for _, t := range list {
		if t.Name == name {
			writeAPIJSON(w, status, t)
			return
		}
	}
	writeAPIJSON(w, status, TrunkInfo{Name: name, Origin: "stored"})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// changedTrunkFields names the fields a PATCH set, for the audit log
// (never their values).
func changedTrunkFields(in apiTrunkIn) string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{{in.Sources != nil, "sources"}, {in.Username != nil, "username"}, {in.Password != nil, "password"},
		{in.MaxCalls != nil, "maxCalls"}, {in.MaxDuration != nil, "maxDurationSeconds"}, {in.SRTP != nil, "srtp"},
		{in.Register != nil, "register"}, {in.NoRegister, "noRegister"}} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return strings.Join(f, ",")
}
