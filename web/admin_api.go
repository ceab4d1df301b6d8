package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"dialroom/dialplan"
	"dialroom/sfu"
)

// AdminStore is what the admin API changes: rooms and phone numbers.
type AdminStore interface {
	Rooms(ctx context.Context) ([]dialplan.Room, error)
	AddRoom(ctx context.Context, slug, name, pin, lang string) (dialplan.Room, error)
	UpdateRoom(ctx context.Context, slug string, c dialplan.RoomChange) (dialplan.Room, error)
	RemoveRoom(ctx context.Context, slug string) error
	Numbers(ctx context.Context) ([]dialplan.Number, error)
	AddNumber(ctx context.Context, number, slug string) (dialplan.Number, error)
	AddSharedNumber(ctx context.Context, number, lang string) (dialplan.Number, error)
	RemoveNumber(ctx context.Context, number string) error
}

// maxAPIBody bounds a JSON request body of the admin API.
const maxAPIBody = 16 << 10

// apiRoom is a room as the admin API shows it.
type apiRoom struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Lang      string   `json:"lang"`
	HasPIN    bool     `json:"hasPin"`
	HasModPIN bool     `json:"hasModeratorPin"`
	DialCode  string   `json:"dialCode"` // typed after calling a shared number
	Numbers   []string `json:"numbers"`
	JoinPath  string   `json:"joinPath"`         // /r/{slug}
	ModPath   string   `json:"moderatorPath"`    // /r/{slug}?mod=TOKEN; "" without a secret
	DialIn    string   `json:"dialIn"`           // text to paste into an invitation
	CreatedAt int64    `json:"createdAt"`        // Unix seconds
	Live      int      `json:"live"`             // participants now
	Locked    bool     `json:"locked,omitempty"` // live lock state
}

type apiNumber struct {
	Number string `json:"number"`
	Room   string `json:"room"`             // "" when shared
	Shared bool   `json:"shared,omitempty"` // callers type a room's dial-in code
	Lang   string `json:"lang,omitempty"`   // shared: language of the code prompt
}

// apiLiveRoom is a room in progress.
type apiLiveRoom struct {
	Slug         string            `json:"slug"`
	Locked       bool              `json:"locked"`
	Web          int               `json:"web"`
	Phone        int               `json:"phone"`
	Participants []sfu.Participant `json:"participants"`
}

// routeAdmin adds /admin and /api/v1 to mux when an admin store and token
// file are configured.
func (s *server) routeAdmin(mux *http.ServeMux) {
	if s.admin == nil || s.adminTokenFile == "" {
		return
	}
	mux.HandleFunc("GET /admin", s.handleAdminPage)
	mux.HandleFunc("POST /admin/login", s.handleAdminLogin)
	mux.HandleFunc("GET /admin/session", s.handleAdminSession)
	mux.HandleFunc("POST /admin/logout", s.handleAdminLogout)
	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireAdmin(h)) }
	api("GET /api/v1/rooms", s.apiRooms)
	api("POST /api/v1/rooms", s.apiAddRoom)
	api("PATCH /api/v1/rooms/{slug}", s.apiUpdateRoom)
	api("DELETE /api/v1/rooms/{slug}", s.apiRemoveRoom)
	api("GET /api/v1/numbers", s.apiNumbers)
	api("POST /api/v1/numbers", s.apiAddNumber)
	api("DELETE /api/v1/numbers/{number}", s.apiRemoveNumber)
	api("GET /api/v1/trunks", s.apiTrunks)
	api("POST /api/v1/trunks", s.apiAddTrunk) // admin_trunks.go
	api("PATCH /api/v1/trunks/{name}", s.apiUpdateTrunk)
	api("DELETE /api/v1/trunks/{name}", s.apiRemoveTrunk)
	api("GET /api/v1/live", s.apiLive)
	api("POST /api/v1/live/{slug}/participants/{id}/{action}", s.apiParticipantAction)
	api("POST /api/v1/live/{slug}/end", s.apiEnd)
	api("GET /api/v1/audit", s.apiAudit)
}

func (s *server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "admin.html", nil)
}

// requireAdmin answers 401 unless the request carries the admin token or
// the console's session cookie (with its CSRF token when it changes state).
func (s *server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !s.adminAuthorized(r) && !s.sessionAuthorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dialroom"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeAPIJSON(w, status, apiError{Error: code, Message: msg})
}

// storeError maps a dialplan error to an HTTP answer. Validation messages
// from dialplan never contain a PIN or a full caller number.
func (s *server) storeError(w http.ResponseWriter, op string, err error) {
	switch {
	case errors.Is(err, dialplan.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, dialplan.ErrExists):
		writeAPIError(w, http.StatusConflict, "exists", err.Error())
	case errors.Is(err, dialplan.ErrInvalid):
		writeAPIError(w, http.StatusBadRequest, "invalid", err.Error())
	default:
		s.log.Error("admin api", "op", op, "err", err)
		writeAPIError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

// decodeBody decodes a JSON body into v or answers 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeAPIError(w, http.StatusBadRequest, "bad_request", "body must be a JSON object with the documented fields")
		return false
	}
	return true
}

// liveRosters returns the roster of every room in progress by slug.
func (s *server) liveRosters() map[string]sfu.Roster {
	live := map[string]sfu.Roster{}
	for _, rm := range s.sfu.Rooms() {
		live[rm.ID()] = rm.Roster()
	}
	return live
}

func (s *server) toAPIRoom(rm dialplan.Room, nums []dialplan.Number, live map[string]sfu.Roster) apiRoom {
	a := apiRoom{Slug: rm.Slug, Name: rm.Name, Lang: rm.Lang, HasPIN: rm.HasPIN(), Numbers: []string{},
		HasModPIN: rm.HasPIN() && rm.ModPINHash != "", DialCode: rm.DialCode,
		JoinPath: "/r/" + rm.Slug, CreatedAt: rm.CreatedAt.Unix()}
	var shared []string
	for _, n := range nums {
		switch {
		case n.Shared:
			shared = append(shared, n.E164)
		case n.RoomSlug == rm.Slug:
			a.Numbers = append(a.Numbers, n.E164)
		}
	}
	if len(s.modSecret) > 0 {
		a.ModPath = "/r/" + rm.Slug + "?mod=" + url.QueryEscape(ModeratorToken(s.modSecret, rm.Slug))
	}
	a.DialIn = dialInText(a, shared)
	ro := live[rm.Slug]
	a.Live, a.Locked = len(ro.Participants), ro.Locked
	return a
}

// dialInText is the invitation text for a room's own phone numbers or,
// without any, the shared numbers with the room's dial-in code. It never
// contains the PIN (only its hash is stored).
func dialInText(a apiRoom, shared []string) string {
	nums := a.Numbers
	code := false
	if len(nums) == 0 && a.DialCode != "" {
		nums, code = shared, true
	}
	if len(nums) == 0 {
		return ""
	}
	t := "Dial in: " + nums[0]
	for _, n := range nums[1:] {
		t += " or " + n
	}
	if code {
		t += ", code " + a.DialCode + " followed by #"
	}
	if a.HasPIN {
		t += ", then enter the room PIN followed by #"
	}
	return t
}

func (s *server) apiRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.admin.Rooms(r.Context())
	if err != nil {
		s.storeError(w, "rooms", err)
		return
	}
	nums, err := s.admin.Numbers(r.Context())
	if err != nil {
		s.storeError(w, "numbers", err)
		return
	}
	out := make([]apiRoom, 0, len(rooms))
	live := s.liveRosters()
	for _, rm := range rooms {
		out = append(out, s.toAPIRoom(rm, nums, live))
	}
	writeAPIJSON(w, http.StatusOK, out)
}

func (s *server) apiAddRoom(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
		PIN  string `json:"pin"`
		Lang string `json:"lang"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	rm, err := s.admin.AddRoom(r.Context(), in.Slug, in.Name, in.PIN, in.Lang)
	if err != nil {
		s.storeError(w, "add room", err)
		return
	}
	s.log.Info("admin: room added", "room", rm.Slug)
	s.audit(r, "room.add", rm.Slug, pinNote(in.PIN != ""))
	writeAPIJSON(w, http.StatusCreated, s.toAPIRoom(rm, nil, nil))
}

func (s *server) apiRemoveRoom(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if err := s.admin.RemoveRoom(r.Context(), slug); err != nil {
		s.storeError(w, "remove room", err)
		return
	}
	s.log.Info("admin: room removed", "room", slug)
	s.audit(r, "room.remove", slug, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) apiNumbers(w http.ResponseWriter, r *http.Request) {
	nums, err := s.admin.Numbers(r.Context())
	if err != nil {
		s.storeError(w, "numbers", err)
		return
	}
	out := make([]apiNumber, 0, len(nums))
	for _, n := range nums {
		out = append(out, apiNumber{Number: n.E164, Room: n.RoomSlug, Shared: n.Shared, Lang: n.Lang})
	}
	writeAPIJSON(w, http.StatusOK, out)
}

func (s *server) apiAddNumber(w http.ResponseWriter, r *http.Request) {
	var in apiNumber
	if !decodeBody(w, r, &in) {
		return
	}
	var n dialplan.Number
	var err error
	switch {
	case in.Shared && in.Room != "":
		writeAPIError(w, http.StatusBadRequest, "invalid", "a shared number belongs to no room")
		return
	case in.Shared:
		n, err = s.admin.AddSharedNumber(r.Context(), in.Number, in.Lang)
	default:
		n, err = s.admin.AddNumber(r.Context(), in.Number, in.Room)
	}
	if err != nil {
		s.storeError(w, "add number", err)
		return
	}
	s.log.Info("admin: number assigned", "room", n.RoomSlug, "number", dialplan.MaskNumber(n.E164))
	if n.Shared {
		s.audit(r, "number.add", dialplan.MaskNumber(n.E164), "shared")
	} else {
		s.audit(r, "number.add", dialplan.MaskNumber(n.E164), "room "+n.RoomSlug)
	}
	writeAPIJSON(w, http.StatusCreated, apiNumber{Number: n.E164, Room: n.RoomSlug, Shared: n.Shared, Lang: n.Lang})
}

func (s *server) apiRemoveNumber(w http.ResponseWriter, r *http.Request) {
	if err := s.admin.RemoveNumber(r.Context(), r.PathValue("number")); err != nil {
		s.storeError(w, "remove number", err)
		return
	}
	s.audit(r, "number.remove", dialplan.MaskNumber(r.PathValue("number")), "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) apiLive(w http.ResponseWriter, r *http.Request) {
	rooms := s.sfu.Rooms()
	out := make([]apiLiveRoom, 0, len(rooms))
	for _, rm := range rooms {
		ro := rm.Roster()
		l := apiLiveRoom{Slug: rm.ID(), Locked: ro.Locked, Participants: ro.Participants}
		for _, p := range ro.Participants {
			if p.Kind == sfu.KindPhone {
				l.Phone++
			} else {
				l.Web++
			}
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b apiLiveRoom) int { return cmpString(a.Slug, b.Slug) })
	writeAPIJSON(w, http.StatusOK, out)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// liveRoom returns the room in progress named in the path, or answers 404.
func (s *server) liveRoom(w http.ResponseWriter, r *http.Request) *sfu.Room {
	slug := r.PathValue("slug")
	for _, rm := range s.sfu.Rooms() {
		if rm.ID() == slug {
			return rm
		}
	}
	writeAPIError(w, http.StatusNotFound, "not_found", "no meeting in progress in this room")
	return nil
}

func (s *server) apiParticipantAction(w http.ResponseWriter, r *http.Request) {
	rm := s.liveRoom(w, r)
	if rm == nil {
		return
	}
	id := r.PathValue("id")
	var err error
	switch r.PathValue("action") {
	case "remove":
		err = rm.Remove(sfu.AdminActor, id)
	case "mute":
		err = rm.Mute(sfu.AdminActor, id)
	default:
		writeAPIError(w, http.StatusNotFound, "not_found", "unknown action")
		return
	}
	if errors.Is(err, sfu.ErrNoParticipant) {
		writeAPIError(w, http.StatusNotFound, "not_found", "no such participant")
		return
	}
	if err != nil {
		s.storeError(w, "participant action", err)
		return
	}
	s.log.Info("admin: participant action", "room", rm.ID(), "participant", id, "action", r.PathValue("action"))
	s.audit(r, "participant."+r.PathValue("action"), rm.ID()+"/"+id, "")
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) apiEnd(w http.ResponseWriter, r *http.Request) {
	rm := s.liveRoom(w, r)
	if rm == nil {
		return
	}
	if err := rm.End(sfu.AdminActor); err != nil {
		s.storeError(w, "end", err)
		return
	}
	s.log.Info("admin: meeting ended", "room", rm.ID())
	s.audit(r, "meeting.end", rm.ID(), "")
	w.WriteHeader(http.StatusNoContent)
}

// pinNote says in an audit entry whether a PIN was set, never which.
func pinNote(set bool) string {
	if set {
		return "with pin"
	}
	return ""
}
