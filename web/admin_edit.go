package web

import (
	"context"
	"net/http"
	"time"

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
