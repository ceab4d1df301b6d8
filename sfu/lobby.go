package sfu

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// The lobby: in a room whose access setting is "lobby", a guest who is not
// signed in and has no join link waits here until a browser moderator of the
// room admits or denies them. A waiting guest is not a member: no
// PeerConnection, no roster, no chat. The web tier decides who waits; the
// room tells its moderators who is waiting and the guests what became of
// them.

// Lobby limits.
const (
	// MaxWaiting bounds the guests waiting (or admitted but not yet
	// joined) in one room's lobby.
	MaxWaiting = 100
	// MaxWait is how long a guest may wait before the lobby gives up on
	// them (LobbyTimeout).
	MaxWait = 30 * time.Minute
)

// Lobby states a waiting guest is told about (LobbyStatus.State).
const (
	LobbyWaiting  = "waiting"  // still waiting; see LobbyStatus.Moderator
	LobbyAdmitted = "admitted" // a moderator let them in: join again
	LobbyDenied   = "denied"   // a moderator turned them away
	LobbyTimeout  = "timeout"  // waited MaxWait without an answer
)

// Lobby errors.
var (
	// ErrLobbyFull: MaxWaiting guests are already waiting.
	ErrLobbyFull = errors.New("sfu: lobby is full")
	// ErrNoGuest: no guest with that ID is waiting.
	ErrNoGuest = errors.New("sfu: no such guest waiting")
)

// LobbyGuest is one waiting guest as moderators see them.
type LobbyGuest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// LobbyList is the room's waiting guests, in arrival order. Rev grows with
// every change, so a moderator who receives two lists out of order keeps
// the newer one.
type LobbyList struct {
	Rev     uint64
	Waiting []LobbyGuest
}

// LobbyStatus tells a guest about their wait.
type LobbyStatus struct {
	State string // LobbyWaiting, LobbyAdmitted, LobbyDenied or LobbyTimeout
	// Moderator: a browser moderator is in the room who can admit them.
	Moderator bool
}

// Waiter is the signalling channel of a waiting guest. Its method is called
// from any goroutine and must not block.
type Waiter interface {
	LobbyStatus(s LobbyStatus)
}

// LobbySignaller is implemented by a browser Signaller that can show
// moderators the lobby; the room sends it the list while its participant
// is a moderator and anyone waits, and after every change.
type LobbySignaller interface {
	Lobby(l LobbyList)
}

// guest is one lobby entry.
type guest struct {
	LobbyGuest
	w        Waiter
	admitted bool        // admitted, not yet joined; no longer listed
	timer    *time.Timer // MaxWait; stopped when the entry goes
}

// lobby is a room's waiting guests, guarded by its own mutex (never held
// together with Room.mu).
type lobby struct {
	mu        sync.Mutex
	rev       uint64
	guests    []*guest // arrival order
	moderator bool     // a browser moderator was in the room at rosterRev
	rosterRev uint64
	notified  []string // moderators who were last sent the list
	max       int
	maxWait   time.Duration
}

func newLobby() *lobby { return &lobby{max: MaxWaiting, maxWait: MaxWait} }

// Wait puts a guest called name in the room's lobby and returns the ID
// moderators admit them by. w is told at once that they wait, and later
// whether they were admitted, denied or timed out.
func (r *Room) Wait(name string, w Waiter) (string, error) {
	l := r.lobby
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return "", ErrClosed
	}
	g := &guest{LobbyGuest: LobbyGuest{ID: "guest-" + randomID(), Name: name}, w: w}
	l.mu.Lock()
	if len(l.guests) >= l.max {
		l.mu.Unlock()
		return "", ErrLobbyFull
	}
	l.guests = append(l.guests, g)
	l.rev++
	mod := l.moderator
	g.timer = time.AfterFunc(l.maxWait, func() { r.expireGuest(g.ID) })
	l.mu.Unlock()
	r.log.Info("guest waiting in lobby", "guest", g.ID)
	w.LobbyStatus(LobbyStatus{State: LobbyWaiting, Moderator: mod})
	r.sendLobby()
	return g.ID, nil
}

// LeaveLobby removes the guest id, waiting or admitted, from the lobby (the
// guest went away or joined).
func (r *Room) LeaveLobby(id string) {
	if g := r.lobby.remove(id, false); g != nil && !g.admitted {
		r.sendLobby()
	}
}

// TakeAdmission reports whether the guest id was admitted and, if so,
// removes them from the lobby and returns the name they were admitted
// under.
func (r *Room) TakeAdmission(id string) (string, bool) {
	l := r.lobby
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.indexLocked(id)
	if i < 0 || !l.guests[i].admitted {
		return "", false
	}
	g := l.guests[i]
	l.guests = slices.Delete(l.guests, i, i+1)
	return g.Name, true
}

// Admit lets the waiting guest id in on behalf of moderator actor; the
// guest is told to join again (TakeAdmission).
func (r *Room) Admit(actor, id string) error {
	return r.decide(actor, []string{id}, LobbyAdmitted)
}

// AdmitAll lets every waiting guest in on behalf of moderator actor.
func (r *Room) AdmitAll(actor string) error {
	l := r.lobby
	l.mu.Lock()
	var ids []string
	for _, g := range l.guests {
		if !g.admitted {
			ids = append(ids, g.ID)
		}
	}
	l.mu.Unlock()
	err := r.decide(actor, ids, LobbyAdmitted)
	if errors.Is(err, ErrNoGuest) {
		return nil // one left meanwhile
	}
	return err
}

// Deny turns the waiting guest id away on behalf of moderator actor.
func (r *Room) Deny(actor, id string) error {
	return r.decide(actor, []string{id}, LobbyDenied)
}

// decide admits or denies the guests ids. Only moderators (and AdminActor)
// may; a guest who is not waiting is reported with ErrNoGuest after the
// others are handled. Each decision is reported to the moderation hook as
// lobby_admitted or lobby_denied with the guest's name.
func (r *Room) decide(actor string, ids []string, state string) error {
	r.mu.Lock()
	by, err := r.actorNameLocked(actor)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	l := r.lobby
	var told []*guest
	missing := false
	l.mu.Lock()
	for _, id := range ids {
		i := l.indexLocked(id)
		if i < 0 || l.guests[i].admitted {
			missing = true
			continue
		}
		g := l.guests[i]
		g.timer.Stop()
		if state == LobbyAdmitted {
			g.admitted = true
		} else {
			l.guests = slices.Delete(l.guests, i, i+1)
		}
		told = append(told, g)
	}
	if len(told) > 0 {
		l.rev++
	}
	l.mu.Unlock()
	for _, g := range told {
		g.w.LobbyStatus(LobbyStatus{State: state, Moderator: true})
		r.reportModeration(actor, by, "lobby_"+state, g.Name, "")
	}
	if len(told) > 0 {
		r.sendLobby()
	}
	if missing {
		return ErrNoGuest
	}
	return nil
}

// expireGuest ends the wait of the guest id after MaxWait.
func (r *Room) expireGuest(id string) {
	g := r.lobby.remove(id, true)
	if g == nil {
		return
	}
	r.log.Info("lobby wait timed out", "guest", id)
	g.w.LobbyStatus(LobbyStatus{State: LobbyTimeout})
	r.sendLobby()
}

// remove deletes the entry id and stops its timer; with waitingOnly it
// leaves an admitted entry alone. It returns the entry or nil.
func (l *lobby) remove(id string, waitingOnly bool) *guest {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.indexLocked(id)
	if i < 0 || (waitingOnly && l.guests[i].admitted) {
		return nil
	}
	g := l.guests[i]
	g.timer.Stop()
	l.guests = slices.Delete(l.guests, i, i+1)
	if !g.admitted {
		l.rev++
	}
	return g
}

func (l *lobby) indexLocked(id string) int {
	return slices.IndexFunc(l.guests, func(g *guest) bool { return g.ID == id })
}

// listLocked returns the waiting guests.
func (l *lobby) listLocked() LobbyList {
	list := LobbyList{Rev: l.rev, Waiting: []LobbyGuest{}}
	for _, g := range l.guests {
		if !g.admitted {
			list.Waiting = append(list.Waiting, g.LobbyGuest)
		}
	}
	return list
}

// lobbyModerators returns the browser moderators of the room that can show
// the lobby, by participant ID.
func (r *Room) lobbyModerators() map[string]LobbySignaller {
	r.mu.Lock()
	defer r.mu.Unlock()
	mods := map[string]LobbySignaller{}
	for id, m := range r.members {
		if m.Role != RoleModerator || m.peer == nil {
			continue
		}
		if ls, ok := m.peer.sig.(LobbySignaller); ok {
			mods[id] = ls
		}
	}
	return mods
}

// sendLobby sends the current list to every browser moderator.
func (r *Room) sendLobby() {
	mods := r.lobbyModerators()
	l := r.lobby
	l.mu.Lock()
	list := l.listLocked()
	l.notified = l.notified[:0]
	for id := range mods {
		l.notified = append(l.notified, id)
	}
	l.mu.Unlock()
	for _, s := range mods {
		s.Lobby(list)
	}
}

// lobbyRoster follows the roster: moderators who joined or were made
// moderators since the last list get it, and when the first browser
// moderator arrives or the last one leaves the waiting guests are told.
// Rosters older than the last one seen are ignored.
func (r *Room) lobbyRoster(ro Roster) {
	l := r.lobby
	mods := map[string]bool{}
	for _, p := range ro.Participants {
		if p.Kind == KindWeb && p.Role == RoleModerator {
			mods[p.ID] = true
		}
	}
	l.mu.Lock()
	if ro.Rev <= l.rosterRev {
		l.mu.Unlock()
		return
	}
	l.rosterRev = ro.Rev
	changed := l.moderator != (len(mods) > 0)
	l.moderator = len(mods) > 0
	var waiters []Waiter
	if changed {
		for _, g := range l.guests {
			if !g.admitted {
				waiters = append(waiters, g.w)
			}
		}
	}
	newMod := false
	for id := range mods {
		if !slices.Contains(l.notified, id) {
			newMod = true
		}
	}
	anyone := len(l.listLocked().Waiting) > 0
	mod := l.moderator
	l.mu.Unlock()
	for _, w := range waiters {
		w.LobbyStatus(LobbyStatus{State: LobbyWaiting, Moderator: mod})
	}
	if newMod && anyone {
		r.sendLobby()
	}
}

// closeLobby times out every waiting guest when the room closes.
func (r *Room) closeLobby() {
	l := r.lobby
	l.mu.Lock()
	gs := l.guests
	l.guests = nil
	l.rev++
	l.mu.Unlock()
	for _, g := range gs {
		g.timer.Stop()
		if !g.admitted {
			g.w.LobbyStatus(LobbyStatus{State: LobbyTimeout})
		}
	}
}
