package sfu

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the shortest time between two keyframe requests (PLI)
// sent to one publisher.
const keyframeInterval = 500 * time.Millisecond

// Peer is a browser participant: one PeerConnection that publishes the
// browser's audio and video and carries everyone else's tracks to it.
type Peer struct {
	id   string
	room *Room
	pc   *webrtc.PeerConnection
	sig  Signaller
	log  *slog.Logger

	subMu    sync.Mutex                   // one subscribe at a time (not held for removals)
	senders  map[string]*webrtc.RTPSender // by outTrack id; guarded by room.mu
	nsenders atomic.Int64                 // len(senders), read without room.mu
	// running holds every sender whose RTCP reader runs, so shutdown can
	// stop them: a sender added while the PeerConnection closes is missed
	// by pc.Close, and its reader would block forever.
	running senderSet
	downs   map[string]*downTrack // video senders by outTrack id; guarded by room.mu
	tracks  atomic.Int64          // inbound track counter, for track IDs
	// slotOuts are the peer's audio slot tracks by slot index (nil without
	// slots). Their senders are in senders too, under the slot track IDs,
	// so the allocator counts them among the audio it reserves for.
	slotOuts []*slotOut

	pubMu  sync.Mutex
	videos map[*webrtc.RTPReceiver]*outTrack // published video, one per receiver (all its RIDs)

	viewMu sync.Mutex
	view   map[string]TileView // by participant ID; nil until the first SetView

	// Which cameras the peer gets a transceiver for (media.go, wantsLocked);
	// both guarded by room.mu. viewed holds every participant any view
	// listed, nil until the first SetView; defaults is set when the view
	// did not come within viewGrace of the first answer.
	viewed   map[string]bool
	defaults bool

	// secure is set once the connection's DTLS, and with it SRTP, is up:
	// pion drops what is written before, so the allocator starts no video
	// until then (a first keyframe sent earlier would be lost, and the
	// subscriber would start on frames it cannot decode).
	secure atomic.Bool

	kicks    chan struct{}     // wakes the allocator
	reported map[string]int    // layer last reported per participant; allocator goroutine only
	bwe      bandwidthEstimate // the subscriber's downlink estimate

	negMu       sync.Mutex
	negotiating bool // an offer is out, no answer yet
	answered    bool // the browser answered at least once
	pending     bool // the track set changed while an offer was out
	scheduled   bool // negotiate will send an offer at the end of its window
	closed      bool

	done      chan struct{}
	closeOnce sync.Once
}

// Join adds a browser participant called name to the room. The room sends
// its first offer through sig before Join returns; the caller passes the
// browser's answer and ICE candidates to the Peer.
func (r *Room) Join(name string, sig Signaller) (*Peer, error) {
	return r.JoinAs(JoinOptions{Name: name}, sig)
}

// JoinOptions describe a browser participant.
type JoinOptions struct {
	Name string
	Role string // RoleModerator or RoleParticipant ("" = participant)
	// OnID, if set, learns the participant's ID before the participant
	// enters the room, so the signaller can recognise itself in the first
	// roster it is sent.
	OnID func(id string)
}

// JoinAs is Join with a role. It fails with ErrLocked when the room is
// locked and the participant is not a moderator.
func (r *Room) JoinAs(opts JoinOptions, sig Signaller) (*Peer, error) {
	name := opts.Name
	pc, est, err := r.m.newPeerConnection()
	if err != nil {
		return nil, fmt.Errorf("sfu: join %s: %w", r.id, err)
	}
	p := &Peer{id: "web-" + randomID(), room: r, pc: pc, sig: sig,
		senders: map[string]*webrtc.RTPSender{}, downs: map[string]*downTrack{},
		videos: map[*webrtc.RTPReceiver]*outTrack{}, kicks: make(chan struct{}, 1),
		done: make(chan struct{})}
	p.bwe.gcc = est
	p.log = r.log.With("participant", p.id)
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{
			Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("sfu: join %s: add %s transceiver: %w", r.id, k, err)
		}
	}
	slotSenders, err := p.addSlots()
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("sfu: join %s: %w", r.id, err)
	}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			r.m.goroutine(p.Leave)
		case webrtc.PeerConnectionStateConnected:
			if !p.secure.Load() {
				// pion reports the state while it still holds the DTLS
				// transport's lock to start SRTP; State waits for it.
				_ = pc.SCTP().Transport().State()
				p.secure.Store(true)
				p.kick()
			}
		}
	})
	if opts.OnID != nil {
		opts.OnID(p.id)
	}
	ro, keyframes, err := r.addMember(&member{Participant: Participant{ID: p.id, Name: name, Kind: KindWeb, Role: opts.Role}, peer: p})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("sfu: join %s: %w", r.id, err)
	}
	p.log.Info("participant joined", "kind", KindWeb)
	for _, s := range slotSenders {
		if p.running.add(s) {
			r.m.goroutine(func() { drainRTCP(s, nil, nil, &p.bwe) })
		}
	}
	r.broadcast(ro)
	if ms, ok := sig.(MediaSignaller); ok {
		if d := r.speakers.dominantSpeaker(); d != "" {
			ms.Speaker(d) // speaker messages say only changes
		}
	}
	r.m.goroutine(p.allocLoop)
	p.negotiateNow()
	for _, k := range keyframes {
		k()
	}
	return p, nil
}

// ID returns the participant ID; it is the stream ID of the peer's tracks.
func (p *Peer) ID() string { return p.id }

// addSlots adds the room's audio slots to a new peer's PeerConnection, so
// that its first offer holds them, and returns their senders (none when
// the room has no slots). The peer is not in the room yet: nobody else
// reads its senders.
func (p *Peer) addSlots() ([]*webrtc.RTPSender, error) {
	if p.room.slots == nil {
		return nil, nil
	}
	outs, senders, err := p.room.slots.addTransceivers(p.pc)
	if err != nil {
		return nil, err
	}
	p.slotOuts = outs
	for i, s := range senders {
		p.senders[slotTrackID(i)] = s
	}
	p.nsenders.Add(int64(len(senders)))
	return senders, nil
}

// Answer applies the browser's SDP answer to the last offer and starts a
// queued offer if the track set changed meanwhile. That offer is made on
// its own goroutine: in a big room it takes a while, and the browser's
// signalling (its candidates, its next messages) must not wait for it.
func (p *Peer) Answer(sdp string) error {
	p.negMu.Lock()
	waiting := p.negotiating
	p.negMu.Unlock()
	if !waiting {
		return errors.New("sfu: answer: no offer outstanding")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("sfu: answer: %w", err)
	}
	p.negMu.Lock()
	again := p.pending && !p.closed
	p.pending = false
	p.negotiating = again
	first := !p.answered
	p.answered = true
	p.negMu.Unlock()
	if again {
		p.room.m.goroutine(p.sendOffer)
	}
	if first {
		p.room.m.goroutine(p.awaitView)
	}
	return nil
}

// AddCandidate adds a remote ICE candidate trickled by the browser.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("sfu: add candidate: %w", err)
	}
	return nil
}

// SetMuted records whether the browser muted its microphone and tells everyone.
func (p *Peer) SetMuted(muted bool) {
	p.room.update(p.id, func(pt *Participant) bool {
		changed := pt.Muted != muted
		pt.Muted = muted
		return changed
	})
}

// Leave removes the participant from the room and closes its PeerConnection.
// It is idempotent and safe to call from any goroutine.
func (p *Peer) Leave() {
	if ro, subs, ok := p.room.removeMember(p.id); ok {
		p.log.Info("participant left")
		p.room.broadcast(ro)
		renegotiate(subs)
	}
	p.shutdown()
}

// shutdown closes the PeerConnection once, which ends its reader goroutines.
func (p *Peer) shutdown() {
	p.closeOnce.Do(func() {
		p.negMu.Lock()
		p.closed = true
		p.negMu.Unlock()
		close(p.done)
		if err := p.pc.Close(); err != nil {
			p.log.Debug("close peer connection", "err", err)
		}
		p.running.stopAll()
	})
}

// A renegotiation waits for more track changes: a participant joining
// adds its audio and then its video, and in a large room many join at
// once; each window costs one offer. An offer's size and cost grow with
// the tracks the peer receives, so the window grows with them: 100 ms for
// a small room, 500 ms from about 200 tracks (100 participants) on.
const (
	negotiateWindow    = 100 * time.Millisecond
	negotiatePerSender = 2 * time.Millisecond
	negotiateMaxWindow = 500 * time.Millisecond
)

// window returns how long a renegotiation of this peer waits.
func (p *Peer) window() time.Duration {
	return min(negotiateWindow+time.Duration(p.nsenders.Load())*negotiatePerSender, negotiateMaxWindow)
}

// negotiate sends a new offer after the peer's window, or queues one if
// an offer is outstanding. Calls within the window share that offer.
func (p *Peer) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	switch {
	case p.closed || p.scheduled:
	case p.negotiating:
		p.pending = true
	default:
		p.scheduled = true
		p.room.m.goroutine(p.negotiateLater)
	}
}

// negotiateLater sends the offer negotiate scheduled.
func (p *Peer) negotiateLater() {
	t := time.NewTimer(p.window())
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.done:
		return
	}
	p.negMu.Lock()
	p.scheduled = false
	p.negMu.Unlock()
	p.negotiateNow()
}

// negotiateNow sends a new offer, or queues one if an offer is outstanding.
func (p *Peer) negotiateNow() {
	p.negMu.Lock()
	if p.closed {
		p.negMu.Unlock()
		return
	}
	if p.negotiating {
		p.pending = true
		p.negMu.Unlock()
		return
	}
	p.negotiating = true
	p.negMu.Unlock()
	p.sendOffer()
}

// sendOffer creates an offer, waits until it holds every ICE candidate (only
// host candidates, so this is quick) and sends it.
func (p *Peer) sendOffer() {
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(p.pc)
		if err = p.pc.SetLocalDescription(offer); err == nil {
			select {
			case <-gathered:
			case <-p.done:
				return
			}
			p.sig.Offer(offerSimulcast(p.pc.LocalDescription().SDP))
			return
		}
	}
	select {
	case <-p.done:
	default:
		if p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
			p.log.Debug("offer after the connection closed; removing participant", "err", err)
		} else {
			p.log.Warn("offer failed; removing participant", "err", err)
		}
		p.room.m.goroutine(p.Leave)
	}
}

// subscribe adds o to this peer's PeerConnection if the peer wants it
// (wantsLocked) and reports whether the peer must renegotiate. room.mu must
// not be held: the PeerConnection work (which waits for the connection's
// own lock, held while it makes an offer or applies an answer) runs outside
// it, so a join or a new track in a big room never waits for every other
// peer in turn. subMu keeps one peer's subscriptions in order.
func (p *Peer) subscribe(o *outTrack) bool {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	return p.subscribeLocked(o)
}

// subscribeWanted subscribes the peer to every published track it wants
// and lacks, in its publishers' join order (which decides the cameras a
// peer without a view gets), and returns the keyframe requests to send
// once the peer has renegotiated (empty when nothing was added).
func (p *Peer) subscribeWanted() (added bool, keyframes []func()) {
	p.subMu.Lock()
	defer p.subMu.Unlock()
	r := p.room
	r.mu.Lock()
	type cand struct {
		o   *outTrack
		seq uint64
	}
	var cands []cand
	for _, o := range r.outs {
		if _, have := p.senders[o.id]; have || o.owner == p.id || !r.wantsLocked(p, o) {
			continue
		}
		var seq uint64
		if m := r.members[o.owner]; m != nil {
			seq = m.seq
		}
		cands = append(cands, cand{o, seq})
	}
	r.mu.Unlock()
	slices.SortFunc(cands, func(a, b cand) int {
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return strings.Compare(a.o.id, b.o.id)
	})
	for _, c := range cands {
		if p.subscribeLocked(c.o) {
			added = true
			if c.o.keyframe != nil {
				keyframes = append(keyframes, c.o.keyframe)
			}
		}
	}
	return added, keyframes
}

// syncVideo subscribes the peer to the tracks it wants and lacks and
// renegotiates it if any was added.
func (p *Peer) syncVideo() {
	if added, keyframes := p.subscribeWanted(); added {
		p.negotiate()
		for _, k := range keyframes {
			k()
		}
	}
}

// subscribeLocked is subscribe with subMu held.
func (p *Peer) subscribeLocked(o *outTrack) bool {
	r := p.room
	r.mu.Lock()
	_, have := p.senders[o.id]
	live := r.subscribableLocked(p, o) && r.wantsLocked(p, o)
	r.mu.Unlock()
	if have || !live {
		return false
	}
	local, keyframe := o.local, o.keyframe
	var d *downTrack
	var nack func([]rtcp.NackPair)
	if o.video != nil {
		t, err := webrtc.NewTrackLocalStaticRTP(o.video.codec, o.id, o.owner)
		if err != nil {
			p.log.Warn("add track", "track", o.id, "err", err)
			return false
		}
		d = newDownTrack(o.video, p, t)
		local, keyframe, nack = t, d.requestKeyframe, d.retransmit
	}
	// A transceiver of its own: AddTrack would reuse the recvonly
	// transceivers the browser publishes on, and simulcast is offered there.
	tr, err := p.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.log.Debug("add track", "track", o.id, "err", err)
		return false
	}
	s := tr.Sender()
	r.mu.Lock()
	// The track's owner or this peer may have left meanwhile; removeMember
	// did not see this sender, so it is taken back here.
	live = r.subscribableLocked(p, o)
	if live {
		p.senders[o.id] = s
		p.nsenders.Add(1)
		if d != nil {
			p.downs[o.id] = d
			o.video.addDown(d)
		}
	}
	r.mu.Unlock()
	if !live {
		p.unsubscribe(s)
		return false
	}
	if d != nil {
		p.kick()
	}
	if !p.running.add(s) {
		return false // the peer is closing; add stopped s
	}
	r.m.goroutine(func() { drainRTCP(s, keyframe, nack, &p.bwe) })
	return true
}

// dropSenderLocked forgets track id on this peer and returns its sender
// (nil if the peer had none); room.mu is held. The caller removes the
// sender from the PeerConnection with unsubscribe once room.mu is released.
func (p *Peer) dropSenderLocked(id string) *webrtc.RTPSender {
	s, ok := p.senders[id]
	if !ok {
		return nil
	}
	delete(p.senders, id)
	p.nsenders.Add(-1)
	if d := p.downs[id]; d != nil {
		delete(p.downs, id)
		d.out.removeDown(d)
	}
	p.running.remove(s)
	return s
}

// unsubscribe removes a sender dropSenderLocked returned and reports
// whether the peer must renegotiate. The sender is stopped either way, which
// ends its RTCP reader: RemoveTrack on a closing PeerConnection fails
// without stopping it, and once dropSenderLocked took it out of running,
// shutdown would not stop it either (Manager.Close then waited forever).
func (p *Peer) unsubscribe(s *webrtc.RTPSender) bool {
	if err := p.pc.RemoveTrack(s); err != nil {
		p.log.Debug("remove track", "err", err)
		_ = s.Stop()
		return false
	}
	return true
}

// drainRTCP reads a sender's RTCP so the interceptors run, forwards
// keyframe requests to the publisher and hands NACKs to nack (nil for
// tracks without retransmission). It returns when the sender stops.
func drainRTCP(s *webrtc.RTPSender, keyframe func(), nack func([]rtcp.NackPair), bwe *bandwidthEstimate) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if keyframe != nil {
					keyframe()
				}
			case *rtcp.TransportLayerNack:
				if nack != nil {
					nack(pkt.Nacks)
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				bwe.remb.Store(int64(pkt.Bitrate))
			case *rtcp.ReceiverReport:
				if keyframe != nil { // a video sender: audio loss never pauses video
					for _, r := range pkt.Reports {
						bwe.reportLoss(r.FractionLost)
					}
				}
			}
		}
	}
}

// onTrack hands an inbound track (one per simulcast layer) to a goroutine
// that Manager.Close waits for.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		p.room.m.goroutine(func() { p.publishVideo(remote, recv) })
		return
	}
	p.room.m.goroutine(func() { p.publish(remote) })
}

// publishVideo forwards one layer of an inbound video track. The first layer
// to arrive publishes the track to the room; each subscriber then receives
// the layer its allocator chooses.
func (p *Peer) publishVideo(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.pubMu.Lock()
	o, old := p.videos[recv]
	if !old {
		id := fmt.Sprintf("%s-video-%d", p.id, p.tracks.Add(1))
		o = &outTrack{owner: p.id, id: id, kind: webrtc.RTPCodecTypeVideo,
			video: newVideoOut(p, id, remote.Codec())}
		p.videos[recv] = o
		for _, tr := range recv.Tracks() {
			o.video.expect(tr.RID())
		}
	}
	p.pubMu.Unlock()
	ssrc := uint32(remote.SSRC())
	layer, idx := o.video.addLayer(remote.RID(), ssrc, p.keyframeRequester(ssrc))
	if layer == nil {
		p.log.Debug("duplicate simulcast layer", "rid", remote.RID())
		return
	}
	if !old {
		subs, ok := p.room.addOut(o)
		if !ok {
			return
		}
		renegotiate(subs)
	}
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.log.Debug("track ended", "err", err)
			}
			return
		}
		o.video.receive(idx, layer, pkt, time.Now())
	}
}

// publish forwards one inbound track to every other participant and reads it
// until it ends. With audio slots, audio goes out on the publisher's slot
// while it has one: the subscribers' slot tracks exist already, so nobody
// renegotiates. Otherwise the track is published to the room as its own
// outTrack.
func (p *Peer) publish(remote *webrtc.TrackRemote) {
	kind := remote.Kind()
	audio := kind == webrtc.RTPCodecTypeAudio
	r := p.room
	if audio && r.slots != nil {
		p.forward(remote, true, p.writeSlot)
		return
	}
	id := fmt.Sprintf("%s-%s-%d", p.id, kind, p.tracks.Add(1))
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, id, p.id)
	if err != nil {
		p.log.Warn("forward track", "err", err)
		return
	}
	o := &outTrack{owner: p.id, id: id, kind: kind, local: local}
	if kind == webrtc.RTPCodecTypeVideo {
		o.keyframe = p.keyframeRequester(uint32(remote.SSRC()))
	}
	subs, ok := r.addOut(o)
	if !ok {
		return
	}
	renegotiate(subs)
	if o.keyframe != nil && len(subs) > 0 {
		o.keyframe()
	}
	p.forward(remote, audio, p.trackWriter(local))
}

// writeSlot forwards an audio packet on the publisher's slot while it has
// one (audio last-N on).
func (p *Peer) writeSlot(pkt *rtp.Packet, now time.Time) {
	r := p.room
	if ref, ok := r.speakers.slotOf(p.id); ok {
		r.slots.forward(ref, p.id, pkt, now)
	}
}

// trackWriter returns the write function of publish for a track that
// every subscriber receives as it is, on local: video, and audio with
// last-N off (with it on, audio goes to the slots: writeSlot).
func (p *Peer) trackWriter(local *webrtc.TrackLocalStaticRTP) func(*rtp.Packet, time.Time) {
	return func(pkt *rtp.Packet, _ time.Time) {
		if err := local.WriteRTP(pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			p.log.Debug("forward rtp", "err", err)
		}
	}
}

// forward reads every RTP packet of remote and hands it to write until
// remote fails; write must not block on a subscriber. For audio it first
// hands the packet to audioIn.receive.
func (p *Peer) forward(remote *webrtc.TrackRemote, audio bool, write func(pkt *rtp.Packet, now time.Time)) {
	in := audioIn{p: p}
	var now time.Time
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.log.Debug("track ended", "err", err)
			}
			return
		}
		if audio {
			now = time.Now()
			in.receive(pkt, now)
		}
		write(pkt, now)
	}
}

// audioIn is the state one inbound audio track keeps between packets.
type audioIn struct {
	p         *Peer
	unleveled int         // packets without a level, until unleveledAfter
	red       redSplitter // the sinks get plain Opus from RED (red.go)
}

// receive does for one inbound audio packet what comes before forwarding
// it: it hands the packet to the room's audio sinks (all of it, audible
// or not; RED as plain Opus, red.go) and its level to the speaker
// detection (speaker.go).
func (in *audioIn) receive(pkt *rtp.Packet, now time.Time) {
	p := in.p
	in.red.toSinks(p.room, p.id, pkt)
	if ext := pkt.GetExtension(AudioLevelID); len(ext) > 0 {
		if ev, any := p.room.speakers.level(p.id, ext[0]&0x7f, now); any {
			p.room.announce(ev)
		}
	} else if in.unleveled < unleveledAfter {
		if in.unleveled++; in.unleveled == unleveledAfter {
			p.room.speakers.unleveled(p.id)
		}
	}
}

// unleveledAfter is how many audio packets without the level extension
// make a participant always audible under audio last-N (speaker.go).
const unleveledAfter = 50

// keyframeRequester returns a function that sends a PLI for ssrc to this
// peer, at most once per keyframeInterval.
func (p *Peer) keyframeRequester(ssrc uint32) func() {
	var last atomic.Int64
	return func() {
		now := time.Now().UnixNano()
		prev := last.Load()
		if now-prev < int64(keyframeInterval) || !last.CompareAndSwap(prev, now) {
			return
		}
		if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			p.log.Debug("send pli", "err", err)
		}
	}
}

// randomID returns 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// senderSet is the list of a peer's running senders (see Peer.running).
type senderSet struct {
	mu     sync.Mutex
	closed bool
	list   []*webrtc.RTPSender
}

// add records s; once the set is stopped it stops s instead and reports false.
func (ss *senderSet) add(s *webrtc.RTPSender) bool {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		_ = s.Stop()
		return false
	}
	ss.list = append(ss.list, s)
	ss.mu.Unlock()
	return true
}

// remove forgets s (RemoveTrack stops it).
func (ss *senderSet) remove(s *webrtc.RTPSender) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, x := range ss.list {
		if x == s {
			ss.list = append(ss.list[:i], ss.list[i+1:]...)
			return
		}
	}
}

// stopAll stops every recorded sender, which ends their RTCP readers, and
// makes later adds stop at once.
func (ss *senderSet) stopAll() {
	ss.mu.Lock()
	ss.closed = true
	list := ss.list
	ss.list = nil
	ss.mu.Unlock()
	for _, s := range list {
		_ = s.Stop()
	}
}
