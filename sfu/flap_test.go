package sfu

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// flapSim is one subscriber (Bob) of one camera (Ann's) that publishes
// three layers, played with the real allocator on a simulated clock. Ann's
// browser sends the layers the SFU asks for, but takes resumeAfter (per
// layer; negative: never) to start one that was paused, as Chromium does
// (its encoder restarts the layer with a keyframe, often after more than a
// second, or not at all when its own uplink or CPU cannot carry it).
type flapSim struct {
	o           *videoOut
	ins         [numLayers]*layerIn
	sub         *Peer
	d           *downTrack
	now         time.Time
	resumeAfter [numLayers]time.Duration
	askedAt     [numLayers]time.Time // when the layer was last asked for after a pause; zero while paused
	sending     [numLayers]bool
	keyAsked    [numLayers]bool
	seq         [numLayers]uint16

	// Counted by run.
	targets  int            // changes of the layer the SFU forwards or waits for the keyframe of
	switches int            // switches of the forwarded layer
	demands  int            // changes of the layers the publisher is asked to send
	resumed  [numLayers]int // times each layer was asked for after a pause
}

func newFlapSim(resumeAfter [numLayers]time.Duration) *flapSim {
	m := &Manager{log: slog.New(slog.DiscardHandler)}
	r := newRoom("flap", m)
	s := &flapSim{now: time.Now(), resumeAfter: resumeAfter}
	s.o = newVideoOut(&Peer{id: "ann", room: r}, "ann-video", webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	for i, rid := range layerRIDs {
		s.o.expect(rid)
		s.ins[i], _ = s.o.addLayer(rid, uint32(i+1), func() { s.keyAsked[i] = true })
		s.askedAt[i] = s.now.Add(-time.Hour) // until the SFU says otherwise, every layer is sent
	}
	s.sub = &Peer{id: "bob", room: r, log: slog.New(slog.DiscardHandler), kicks: make(chan struct{}, 1),
		senders: map[string]*webrtc.RTPSender{"ann-video": nil}, downs: map[string]*downTrack{}}
	s.sub.secure.Store(true) // connected
	s.d = newDownTrack(s.o, s.sub, nil)
	s.sub.downs[s.o.id] = s.d
	s.o.addDown(s.d)
	return s
}

// view shows Ann's camera in a tile of w x h pixels.
func (s *flapSim) view(w, h int) {
	s.sub.viewMu.Lock()
	s.sub.view = map[string]TileView{"ann": {ID: "ann", Width: w, Height: h}}
	s.sub.viewMu.Unlock()
}

// run plays d: Ann's browser sends a packet of each layer it sends every
// 20 ms, and Bob's allocator runs every allocInterval.
func (s *flapSim) run(d time.Duration) {
	const tick = 20 * time.Millisecond
	end := s.now.Add(d)
	lastDemand, lastTold := s.demand()
	_, lastTgt := s.d.layers()
	for s.now.Before(end) {
		s.now = s.now.Add(tick)
		demand, told := s.demand()
		if demand != lastDemand || told != lastTold {
			s.demands++
		}
		lastDemand, lastTold = demand, told
		for i, in := range s.ins {
			if told && !demand[i] {
				s.askedAt[i], s.sending[i] = time.Time{}, false
				continue
			}
			if s.askedAt[i].IsZero() {
				s.askedAt[i] = s.now
				s.resumed[i]++
			}
			if !s.sending[i] && (s.resumeAfter[i] < 0 || s.now.Sub(s.askedAt[i]) < s.resumeAfter[i]) {
				continue
			}
			// A (re)started layer starts with a keyframe, as does the
			// next frame after a keyframe request.
			key := !s.sending[i] || s.keyAsked[i]
			s.sending[i], s.keyAsked[i] = true, false
			s.sendPacket(i, in, key)
		}
		if s.now.Sub(end.Add(-d))%allocInterval < tick {
			s.sub.allocate(s.now)
			if _, tgt := s.d.layers(); tgt != lastTgt {
				s.targets++
				lastTgt = tgt
			}
		}
	}
}

// sendPacket hands Bob's downTrack one packet of layer i.
func (s *flapSim) sendPacket(i int, in *layerIn, key bool) {
	in.lastAt.Store(s.now.UnixNano())
	in.bytes.Add(uint64(nominalRate[i] / 8 / 50))
	s.seq[i]++
	h := rtp.Header{SequenceNumber: s.seq[i], Timestamp: uint32(s.seq[i]) * 1800, SSRC: uint32(i + 1)}
	if _, _, switched := s.d.rewrite(i, &h, key, s.now); switched {
		s.switches++
	}
}

// demand returns the layers the publisher is asked to send.
func (s *flapSim) demand() ([numLayers]bool, bool) {
	s.o.mu.Lock()
	defer s.o.mu.Unlock()
	return s.o.demand, s.o.told
}

// reset zeroes the counters.
func (s *flapSim) reset() { s.targets, s.switches, s.demands, s.resumed = 0, 0, 0, [numLayers]int{} }

// TestLayerResumeNoFlap: Bob's tile of Ann grows so that he wants her
// paused top layer. Her browser is slow to resume it (or never does). The
// SFU keeps it resumed while Bob stays on the middle layer, switches up
// once it arrives, and stops asking for one that does not come; before, it
// switched between the two layers every allocation interval (about 20
// switches and keyframe requests in 10 s) and paused and resumed the top
// layer as often.
func TestLayerResumeNoFlap(t *testing.T) {
	never := time.Duration(-1)
	for _, tc := range []struct {
		name     string
		resume   time.Duration // how long the top layer takes to start
		wantCur  int           // the layer forwarded at the end
		maxTgts  int           // changes of target in the 10 s
		maxAsked int           // times f is asked for after a pause
	}{
		{"resumed after 1.5 s", 1500 * time.Millisecond, 2, 1, 1},
		{"resumed after 2.5 s", 2500 * time.Millisecond, 2, 1, 1},
		{"never resumed", never, 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFlapSim([numLayers]time.Duration{300 * time.Millisecond, 300 * time.Millisecond, tc.resume})
			s.view(640, 360) // h: q and f get paused
			s.run(3 * time.Second)
			if cur, _ := s.d.layers(); cur != 1 {
				t.Fatalf("640x360 tile: forwarding layer %d, want 1", cur)
			}
			if d, _ := s.demand(); d != [numLayers]bool{false, true, false} {
				t.Fatalf("640x360 tile: publisher asked for %v, want only h", d)
			}
			s.reset()
			s.view(1200, 675) // f
			s.run(10 * time.Second)
			cur, tgt := s.d.layers()
			t.Logf("10 s: %d target changes, %d switches, %d demand changes, f asked for %d times; forwarding %d, target %d",
				s.targets, s.switches, s.demands, s.resumed[2], cur, tgt)
			if s.targets > tc.maxTgts || s.switches > tc.maxTgts {
				t.Errorf("%d target changes and %d switches in 10 s, want at most %d: the layer flaps", s.targets, s.switches, tc.maxTgts)
			}
			if s.resumed[2] > tc.maxAsked || s.demands > 2 {
				t.Errorf("f asked for %d times (%d demand changes) in 10 s, want at most %d: the publisher is told to pause and resume it again and again",
					s.resumed[2], s.demands, tc.maxAsked)
			}
			if cur != tc.wantCur || tgt != tc.wantCur {
				t.Errorf("after 10 s: forwarding layer %d (target %d), want %d", cur, tgt, tc.wantCur)
			}
		})
	}
}

// TestLayerWaitBackOff: a layer that does not start within layerStart is
// not asked for during a back-off that doubles after each failed wait, up
// to layerRetryMax, and resets once the layer has been sent a while.
func TestLayerWaitBackOff(t *testing.T) {
	s := newFlapSim([numLayers]time.Duration{0, 0, -1})
	s.view(1200, 675)
	s.run(2 * time.Second)
	var asked []time.Duration
	start := s.now
	for s.now.Sub(start) < 3*time.Minute {
		before := s.resumed[2]
		s.run(allocInterval)
		if s.resumed[2] > before {
			asked = append(asked, s.now.Sub(start).Round(allocInterval))
		}
	}
	// f is asked for from the start, waited for layerStart (plus up to an
	// interval), then left for 10 s; asked again, left for 20, 40, 40 s.
	var gaps []time.Duration
	for i := 1; i < len(asked); i++ {
		gaps = append(gaps, asked[i]-asked[i-1])
	}
	t.Logf("f asked for again at %v (gaps %v)", asked, gaps)
	if len(gaps) < 3 {
		t.Fatalf("f asked for again %d times in 3 min, want a retry after each back-off", len(asked))
	}
	wait := layerStart + allocInterval
	for i, g := range gaps {
		want := min(layerRetry<<(i+1), layerRetryMax) + wait
		if g < want-allocInterval || g > want+allocInterval {
			t.Errorf("retry %d after %v, want about %v", i+1, g, want)
		}
	}
	if cur, tgt := s.d.layers(); cur != 1 || tgt != 1 {
		t.Errorf("forwarding %d (target %d), want h throughout", cur, tgt)
	}

	// Once f is sent (another subscriber's demand, or the publisher's
	// line recovered), Bob switches up, and after layerTrust the back-off
	// starts afresh.
	s.resumeAfter[2] = 0
	other := newDownTrack(s.o, &Peer{id: "cid", kicks: make(chan struct{}, 1)}, nil)
	s.o.addDown(other)
	other.setTarget(2)
	s.o.updateDemand()
	s.run(layerTrust + 2*allocInterval)
	if cur, _ := s.d.layers(); cur != 2 {
		t.Errorf("f sent: forwarding %d, want 2", cur)
	}
	if b := s.sub.bwe.rates["ann-video"][2].backoff; b != 0 {
		t.Errorf("f sent for layerTrust: back-off %v, want reset", b)
	}
}

// TestNoVideoBeforeSecure: until Bob's connection has SRTP (Peer.secure),
// pion would drop what the SFU writes to him, the first keyframe
// included, and he would start on delta frames. The allocator forwards
// nothing until then, and starts on a keyframe after.
func TestNoVideoBeforeSecure(t *testing.T) {
	s := newFlapSim([numLayers]time.Duration{0, 0, 0})
	s.sub.secure.Store(false)
	s.view(640, 360)
	s.run(2 * time.Second)
	if cur, tgt := s.d.layers(); cur != layerOff || tgt != layerOff {
		t.Fatalf("before SRTP: forwarding layer %d, target %d, want none", cur, tgt)
	}
	if s.switches != 0 {
		t.Fatalf("before SRTP: %d layer starts, want 0", s.switches)
	}
	s.sub.secure.Store(true)
	s.run(2 * time.Second)
	if cur, _ := s.d.layers(); cur != 1 {
		t.Fatalf("after SRTP: forwarding layer %d, want 1", cur)
	}
}
