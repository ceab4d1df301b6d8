package sfu

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Phone is a phone participant: the mixer writes its Opus audio, and the room
// sends it to every browser as a track whose stream ID is the phone's ID,
// also where browsers' audio comes on audio slots (audioslot.go).
type Phone struct {
	info  PhoneInfo
	room  *Room
	track *webrtc.TrackLocalStaticSample
	left  atomic.Bool
	once  sync.Once
	owner atomic.Pointer[ownerBox] // who carries out moderator actions; may be unset
}

// ownerBox lets an interface value live in an atomic.Pointer.
type ownerBox struct{ o PhoneOwner }

// AddPhone adds a phone participant to the room; its tile appears for everyone.
func (r *Room) AddPhone(info PhoneInfo) (*Phone, error) {
	if info.ID == "" {
		return nil, errors.New("sfu: add phone: empty participant ID")
	}
	track, err := webrtc.NewTrackLocalStaticSample(opusCapability, info.ID+"-audio", info.ID)
	if err != nil {
		return nil, fmt.Errorf("sfu: add phone %s: %w", info.ID, err)
	}
	label := info.Label
	if label == "" {
		label = "Unknown caller"
	}
	p := &Phone{info: info, room: r, track: track}
	if info.Owner != nil {
		p.SetOwner(info.Owner)
	}
	ro, _, err := r.addMember(&member{Participant: Participant{ID: info.ID, Name: label, Kind: KindPhone, Role: info.Role, Number: info.Number}, phone: p})
	if err != nil {
		return nil, fmt.Errorf("sfu: add phone %s: %w", info.ID, err)
	}
	r.log.Info("participant joined", "participant", info.ID, "kind", KindPhone)
	r.broadcast(ro)
	subs, _ := r.addOut(&outTrack{owner: info.ID, id: info.ID + "-audio", kind: webrtc.RTPCodecTypeAudio, local: track})
	renegotiate(subs)
	return p, nil
}

// SetOwner sets who carries out moderator actions (mute, remove) on this
// phone participant; it replaces PhoneInfo.Owner. Until an owner is set,
// mute only changes the roster and remove only removes the tile.
func (p *Phone) SetOwner(o PhoneOwner) { p.owner.Store(&ownerBox{o: o}) }

// getOwner returns the phone's owner or nil.
func (p *Phone) getOwner() PhoneOwner {
	if b := p.owner.Load(); b != nil {
		return b.o
	}
	return nil
}

// ID returns the phone participant's ID.
func (p *Phone) ID() string { return p.info.ID }

// WriteOpus sends one Opus packet lasting d (48 kHz RTP clock) to every
// browser in the room.
func (p *Phone) WriteOpus(payload []byte, d time.Duration) error {
	if p.left.Load() {
		return ErrClosed
	}
	if err := p.track.WriteSample(media.Sample{Data: payload, Duration: d}); err != nil {
		return fmt.Errorf("sfu: phone %s: write opus: %w", p.info.ID, err)
	}
	return nil
}

// SetSpeaking records whether the caller is speaking; browsers are told only
// when the state changes.
func (p *Phone) SetSpeaking(speaking bool) {
	r := p.room
	r.mu.Lock()
	m, ok := r.members[p.info.ID]
	if !ok || m.Speaking == speaking {
		r.mu.Unlock()
		return
	}
	m.Speaking = speaking
	r.rev++
	sigs := r.signallersLocked()
	r.mu.Unlock()
	for _, s := range sigs {
		s.Speaking(p.info.ID, speaking)
	}
	if ev, any := r.speakers.phone(p.info.ID, speaking, time.Now()); any {
		r.announce(ev)
	}
}

// SetMuted records that the caller muted or unmuted itself (keypad *6) or was
// muted through its owner; browsers see it in the roster. It never calls the
// owner back, so a moderator's mute that ends here does not loop.
func (p *Phone) SetMuted(muted bool) {
	p.room.update(p.info.ID, func(pt *Participant) bool {
		changed := pt.Muted != muted
		pt.Muted = muted
		return changed
	})
}

// Leave removes the phone participant; its tile vanishes for everyone. It is
// idempotent.
func (p *Phone) Leave() {
	p.once.Do(func() {
		p.left.Store(true)
		if ro, subs, ok := p.room.removeMember(p.info.ID); ok {
			p.room.log.Info("participant left", "participant", p.info.ID)
			p.room.broadcast(ro)
			renegotiate(subs)
		}
	})
}
