package sip

import (
	"net/netip"
	"time"
)

// Direction is the media direction of an SDP offer, from the offerer's
// side (RFC 3264 §5.1). The zero value is sendrecv.
type Direction int32

// Directions an offer can state.
const (
	DirSendRecv Direction = iota
	DirSendOnly           // the caller holds us: it may send (music), we do not
	DirRecvOnly           // the caller only listens
	DirInactive           // no media either way
)

// weSend reports whether the answerer (we) may send RTP.
func (d Direction) weSend() bool { return d == DirSendRecv || d == DirRecvOnly }

// theySend reports whether the offerer sends RTP, so silence means trouble.
func (d Direction) theySend() bool { return d == DirSendRecv || d == DirSendOnly }

// answer is the direction attribute of our answer (RFC 3264 §6.1).
func (d Direction) answer() string {
	switch d {
	case DirSendOnly:
		return "recvonly"
	case DirRecvOnly:
		return "sendonly"
	case DirInactive:
		return "inactive"
	}
	return "sendrecv"
}

// String is the SDP attribute of the offer.
func (d Direction) String() string {
	switch d {
	case DirSendOnly:
		return "sendonly"
	case DirRecvOnly:
		return "recvonly"
	case DirInactive:
		return "inactive"
	}
	return "sendrecv"
}

// latchPackets is how many packets in a row from one source make it the
// caller's stream when it is not the address the SDP gave.
const latchPackets = 4

// latchGuard decides which source address is the caller's RTP (symmetric
// RTP behind NAT) and keeps others out once it has decided, so a third
// party who learns the port cannot take over the call's audio or type keys
// into it. The SDP address is trusted at once; another source is learned
// after latchPackets consecutive packets. The zero value is learning.
type latchGuard struct {
	sdp    netip.AddrPort
	locked bool
	src    netip.AddrPort
	n      int
}

// admit reports whether a packet from from belongs to the call.
func (g *latchGuard) admit(from netip.AddrPort) bool {
	if g.locked {
		return from == g.src
	}
	if from == g.sdp {
		g.locked, g.src = true, from
		return true
	}
	if from == g.src {
		g.n++
	} else {
		g.src, g.n = from, 1
	}
	if g.n >= latchPackets {
		g.locked = true
	}
	return true
}

// update applies a renegotiated offer (re-INVITE or UPDATE): codec and
// payload types, direction, and the address, whose change makes the reader
// learn the caller's source afresh.
func (s *rtpSession) update(m Media) {
	old := s.media.Load()
	s.media.Store(&m)
	s.setKeys(m)
	wasSending := Direction(s.dir.Swap(int32(m.Dir))).theySend()
	if m.Dir.theySend() && !wasSending {
		// Resumed: the RTP timeout counts from now, not from the hold.
		s.lastRecv.Store(time.Now().UnixNano())
	}
	if r := m.Remote; r.IsValid() && !r.Addr().IsUnspecified() && r != old.Remote {
		s.remote.Store(&r)
		s.relearn.Store(true)
	}
}

// playOverlay plays pcm to the caller instead of the room's audio, one
// frame per WriteAudio, from now on until it ends. The slice is only read.
func (s *rtpSession) playOverlay(pcm []int16) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.overlay, s.overlayPos = pcm, 0
}

// nextOverlay returns the next frame of the overlay prompt; sendMu held.
func (s *rtpSession) nextOverlay() []int16 {
	n := copy(s.overlayBuf[:], s.overlay[s.overlayPos:])
	clear(s.overlayBuf[n:])
	s.overlayPos += n
	if s.overlayPos >= len(s.overlay) {
		s.overlay = nil
	}
	return s.overlayBuf[:]
}

// Muter is implemented by a Membership that can show the caller's own
// mute (*6) in the room, e.g. on the browser tiles. Optional: without it
// the caller is still silenced, the room just does not show why.
type Muter interface {
	SetMuted(muted bool)
}

// setMuted silences (or restores) the caller's voice towards the room.
func (c *call) setMuted(muted bool) {
	c.media.muted.Store(muted)
	if m, ok := c.membership.(Muter); ok {
		m.SetMuted(muted)
	}
	c.log.Info("caller mute", "muted", muted)
}

// expectingRTP reports whether the caller should be sending RTP now; a
// caller on hold (sendonly towards us is fine, inactive or recvonly is
// not) is never hung up for silence.
func (s *rtpSession) expectingRTP() bool { return Direction(s.dir.Load()).theySend() }
