package sfu

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// Participant kinds as they appear in a Roster.
const (
	KindWeb   = "web"
	KindPhone = "phone"
)

// Participant is one entry of a room's roster, as browsers receive it.
type Participant struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"` // KindWeb or KindPhone
	Speaking bool   `json:"speaking"`
	Muted    bool   `json:"muted,omitempty"`
	Role     string `json:"role"`              // RoleModerator or RoleParticipant
	Hand     bool   `json:"hand,omitempty"`    // a raised hand
	Sharing  bool   `json:"sharing,omitempty"` // the video shows the participant's screen

	// MuteLocked: a moderator muted the participant and locked the mute;
	// only a moderator can unmute it.
	MuteLocked bool `json:"muteLocked,omitempty"`

	// Number is a phone caller's full number (PhoneInfo.Number). Never
	// serialised: see web's participantView.
	Number string `json:"-"`
}

// Roster is the full participant list of a room. Rev grows with every change,
// so a client that receives two rosters out of order keeps the newer one.
type Roster struct {
	Rev          uint64        `json:"rev"`
	Participants []Participant `json:"participants"`
	Locked       bool          `json:"locked"` // only moderators may join
}

// Signaller carries messages from the SFU to one browser participant. Its
// methods are called from SFU goroutines and must not block (queue or drop).
type Signaller interface {
	// Offer sends an SDP offer with all ICE candidates included; the browser
	// answers through Peer.Answer.
	Offer(sdp string)
	// Roster sends the room's participant list after a join, leave or change.
	Roster(r Roster)
	// Speaking tells that a participant started or stopped speaking.
	Speaking(participantID string, speaking bool)
	// Chat delivers a room or private chat message.
	Chat(m ChatMessage)
	// Control tells the browser what a moderator did to it (see Control).
	Control(c Control)
}

// member is the roster state of one participant, guarded by Room.mu.
type member struct {
	Participant
	seq   uint64 // join order
	peer  *Peer  // nil for phones
	phone *Phone // nil for browsers
}

// outTrack is a track the room sends to every participant except its owner:
// video, phone audio, and browser audio when there are no audio slots.
type outTrack struct {
	owner    string
	id       string
	kind     webrtc.RTPCodecType
	local    webrtc.TrackLocal // shared by every subscriber (audio); nil for video
	keyframe func()            // asks the publisher for a keyframe; nil for audio and phones
	video    *videoOut         // for video: each subscriber gets its own downTrack
}

type sinkEntry struct {
	id   uint64
	sink AudioSink
}

// Room is one meeting room: its browser and phone participants and the tracks
// forwarded between them.
type Room struct {
	id  string
	m   *Manager
	log *slog.Logger

	mu      sync.Mutex
	closed  bool
	seq     uint64
	rev     uint64
	members map[string]*member
	outs    map[string]*outTrack
	sinkSeq uint64
	locked  bool
	chatSeq uint64
	history []ChatMessage // the latest room chat messages, oldest first

	rosters  rosterSend                  // roster fan-out to the members (broadcast)
	sinks    atomic.Pointer[[]sinkEntry] // copy on write; read per packet without a lock
	speakers *speakers
	slots    *audioSlots // browser audio under last-N (audioslot.go); nil with last-N off
	lobby    *lobby      // guests waiting to be admitted (lobby.go)
}

func newRoom(id string, m *Manager) *Room {
	r := &Room{id: id, m: m, log: m.log.With("room", id),
		members: map[string]*member{}, outs: map[string]*outTrack{}, speakers: newSpeakers(), lobby: newLobby()}
	r.sinks.Store(&[]sinkEntry{})
	if m.audioLastN > 0 {
		r.slots = newAudioSlots(m.audioLastN)
	}
	return r
}

// ID returns the room's ID (its slug).
func (r *Room) ID() string { return r.id }

// Roster returns the current participant list.
func (r *Room) Roster() Roster {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rosterLocked()
}

func (r *Room) rosterLocked() Roster {
	ms := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return int(a.seq) - int(b.seq) })
	list := make([]Participant, len(ms))
	for i, m := range ms {
		list[i] = m.Participant
	}
	return Roster{Rev: r.rev, Participants: list, Locked: r.locked}
}

// AddAudioSink registers s for every RTP packet of every browser audio track
// in the room. Calling remove unregisters it; remove is idempotent.
func (r *Room) AddAudioSink(s AudioSink) (remove func()) {
	r.mu.Lock()
	r.sinkSeq++
	id := r.sinkSeq
	next := append(slices.Clone(*r.sinks.Load()), sinkEntry{id: id, sink: s})
	r.sinks.Store(&next)
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		next := slices.DeleteFunc(slices.Clone(*r.sinks.Load()), func(e sinkEntry) bool { return e.id == id })
		r.sinks.Store(&next)
	}
}

// addMember adds a participant and subscribes a new browser peer to the
// existing tracks it wants (wantsLocked: audio and screen shares; cameras
// follow its view). It returns the roster to broadcast and the keyframe
// requests to send for the video the new peer now receives.
func (r *Room) addMember(m *member) (Roster, []func(), error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return Roster{}, nil, ErrClosed
	}
	if _, ok := r.members[m.ID]; ok {
		r.mu.Unlock()
		return Roster{}, nil, fmt.Errorf("participant %s: already in room", m.ID)
	}
	if r.locked && m.Role != RoleModerator {
		r.mu.Unlock()
		return Roster{}, nil, ErrLocked
	}
	if m.Role == "" {
		m.Role = RoleParticipant
	}
	r.seq++
	m.seq = r.seq
	r.members[m.ID] = m
	if m.peer != nil && r.slots != nil {
		r.slots.add(m.ID, m.peer.slotOuts)
	}
	r.rev++
	ro := r.rosterLocked()
	r.mu.Unlock()
	// Tracks published from now on reach the new peer through addOut,
	// which finds it among the members.
	var keyframes []func()
	if m.peer != nil {
		_, keyframes = m.peer.subscribeWanted()
	}
	return ro, keyframes, nil
}

// subscribableLocked reports whether peer p may receive o: o is still
// published and p is still in the room. room.mu is held.
func (r *Room) subscribableLocked(p *Peer, o *outTrack) bool {
	m := r.members[p.id]
	return r.outs[o.id] == o && m != nil && m.peer == p && o.owner != p.id
}

// addOut publishes o to every browser participant except its owner,
// subscribes those that want it (for a camera: those whose view lists
// its owner) and returns the peers that must renegotiate. ok is false
// when the owner left.
func (r *Room) addOut(o *outTrack) (subs []*Peer, ok bool) {
	r.mu.Lock()
	if _, present := r.members[o.owner]; !present || r.closed {
		r.mu.Unlock()
		return nil, false
	}
	r.outs[o.id] = o
	peers := make([]*Peer, 0, len(r.members))
	for id, m := range r.members {
		if id != o.owner && m.peer != nil {
			peers = append(peers, m.peer)
		}
	}
	r.mu.Unlock()
	// A peer that joins meanwhile subscribes itself in addMember.
	for _, p := range peers {
		if p.subscribe(o) {
			subs = append(subs, p)
		}
	}
	return subs, true
}

// removeMember removes a participant and its tracks; it returns the roster to
// broadcast and the peers that must renegotiate. ok is false if id was absent.
func (r *Room) removeMember(id string) (ro Roster, subs []*Peer, ok bool) {
	type drop struct {
		p *Peer
		s *webrtc.RTPSender
	}
	var outs []*videoOut // publishers that lost a subscriber
	var drops []drop
	r.mu.Lock()
	gone, present := r.members[id]
	if !present {
		r.mu.Unlock()
		return Roster{}, nil, false
	}
	delete(r.members, id)
	if gone.peer != nil && r.slots != nil {
		r.slots.remove(id)
	}
	var backfill []*Peer // peers without a view that lose one of their default cameras
	for _, m := range r.members {
		if m.peer != nil {
			delete(m.peer.viewed, id)
		}
	}
	if gone.peer != nil {
		for _, d := range gone.peer.downs {
			d.out.removeDown(d)
			outs = append(outs, d.out)
		}
	}
	for tid, o := range r.outs {
		if o.owner != id {
			continue
		}
		delete(r.outs, tid)
		for _, m := range r.members {
			if m.peer == nil {
				continue
			}
			if s := m.peer.dropSenderLocked(tid); s != nil {
				drops = append(drops, drop{m.peer, s})
				if o.video != nil && m.peer.viewed == nil && m.peer.defaults && !slices.Contains(backfill, m.peer) {
					backfill = append(backfill, m.peer)
				}
			}
		}
	}
	r.rev++
	ro = r.rosterLocked()
	r.mu.Unlock()
	for _, d := range drops {
		if d.p.unsubscribe(d.s) && !slices.Contains(subs, d.p) {
			subs = append(subs, d.p)
		}
	}
	for _, o := range outs {
		o.updateDemand()
	}
	if len(backfill) > 0 {
		r.m.goroutine(func() {
			for _, p := range backfill {
				p.syncVideo()
			}
		})
	}
	if ev, any := r.speakers.remove(id, time.Now()); any {
		r.announce(ev)
	}
	return ro, subs, true
}

// signallers returns the signalling channels of every browser participant.
func (r *Room) signallersLocked() []Signaller {
	sigs := make([]Signaller, 0, len(r.members))
	for _, m := range r.members {
		if m.peer != nil {
			sigs = append(sigs, m.peer.sig)
		}
	}
	return sigs
}

// A burst of joins or leaves changes the roster many times a second, and
// each change sent to everyone costs the room N messages of N entries. The
// members get at most one roster per window: the first change at once, the
// ones within the window together at its end, as the newest roster. The
// window grows with the room: 50 ms for a few participants, 450 ms from
// 100 on.
const (
	rosterWindow          = 50 * time.Millisecond
	rosterWindowPerMember = 4 * time.Millisecond
	rosterMaxWindow       = 450 * time.Millisecond
)

// rosterSend is the room's roster fan-out state, guarded by its mu.
type rosterSend struct {
	mu    sync.Mutex
	next  *Roster     // newest roster not yet sent; nil if none
	last  time.Time   // when the last roster went out
	timer *time.Timer // sends next at the end of the window; nil if none
	stop  bool        // the room closed
}

// broadcast sends ro to every browser participant: now, or with the other
// changes of the current window (see rosterWindow). Rosters carry a
// revision, so only the newest one of a window is sent.
func (r *Room) broadcast(ro Roster) {
	r.lobbyRoster(ro)
	rs := &r.rosters
	rs.mu.Lock()
	if rs.stop {
		rs.mu.Unlock()
		return
	}
	if rs.next == nil || ro.Rev > rs.next.Rev {
		rs.next = &ro
	}
	if rs.timer != nil {
		rs.mu.Unlock()
		return
	}
	window := min(rosterWindow+time.Duration(len(ro.Participants))*rosterWindowPerMember, rosterMaxWindow)
	if wait := time.Until(rs.last.Add(window)); wait > 0 {
		rs.timer = time.AfterFunc(wait, r.flushRoster)
		rs.mu.Unlock()
		return
	}
	rs.mu.Unlock()
	r.flushRoster()
}

// flushRoster sends the newest pending roster to every browser participant.
func (r *Room) flushRoster() {
	rs := &r.rosters
	rs.mu.Lock()
	next := rs.next
	rs.next, rs.timer = nil, nil
	if next == nil || rs.stop {
		rs.mu.Unlock()
		return
	}
	rs.last = time.Now()
	rs.mu.Unlock()
	r.mu.Lock()
	sigs := r.signallersLocked()
	r.mu.Unlock()
	for _, s := range sigs {
		s.Roster(*next)
	}
}

// update changes one participant's roster entry with f and broadcasts the
// roster if f reports a change. A participant that starts sharing its
// screen is subscribed by every browser (a share is always sent).
func (r *Room) update(id string, f func(p *Participant) bool) {
	r.mu.Lock()
	m, ok := r.members[id]
	if !ok {
		r.mu.Unlock()
		return
	}
	was := m.Sharing
	if !f(&m.Participant) {
		r.mu.Unlock()
		return
	}
	var peers []*Peer
	if m.Sharing && !was {
		for pid, other := range r.members {
			if pid != id && other.peer != nil {
				peers = append(peers, other.peer)
			}
		}
	}
	r.rev++
	ro := r.rosterLocked()
	r.mu.Unlock()
	r.broadcast(ro)
	if len(peers) > 0 {
		r.m.goroutine(func() {
			for _, p := range peers {
				p.syncVideo()
			}
		})
	}
}

// close closes every participant without renegotiating anyone.
func (r *Room) close() {
	r.mu.Lock()
	r.closed = true
	var peers []*Peer
	for _, m := range r.members {
		if m.peer != nil {
			peers = append(peers, m.peer)
		}
	}
	r.members = map[string]*member{}
	r.outs = map[string]*outTrack{}
	r.mu.Unlock()
	r.rosters.mu.Lock()
	r.rosters.stop = true
	if r.rosters.timer != nil {
		r.rosters.timer.Stop()
	}
	r.rosters.mu.Unlock()
	for _, p := range peers {
		p.shutdown()
	}
	r.closeLobby()
}

// renegotiate starts a new offer/answer round with each peer.
func renegotiate(peers []*Peer) {
	for _, p := range peers {
		p.negotiate()
	}
}
