package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// opusSilence is one 20 ms Opus frame of silence (what a muted or quiet
// browser microphone sends without DTX).
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// simulcastLayers are the RIDs the browser client's camera sends, smallest
// first, with their bitrate relative to the full layer (the client's
// maxBitrate values) and their picture size.
var simulcastLayers = []struct {
	rid   string
	share float64
	w, h  uint16
}{{"q", 0.1, 320, 180}, {"h", 1.0 / 3, 640, 360}, {"f", 1, 1280, 720}}

// wsMsg is the part of every signalling message the load tool reads.
type wsMsg struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	SDP          string `json:"sdp"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	Participants []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"participants"`
	Layers []string    `json:"layers"` // publish: the simulcast layers anyone receives
	Tracks []layerInfo `json:"tracks"` // layers: the layer received of each video
}

// layerInfo is one entry of a layers message.
type layerInfo struct {
	ID    string `json:"id"`
	Layer string `json:"layer"`
}

// layerChange is when a subscriber started receiving a layer ("" none) of
// the speaker's video.
type layerChange struct {
	at    time.Time
	layer string
}

// rtcPeer is one WebRTC participant: a WebSocket to /ws and a pion
// PeerConnection that publishes and subscribes like a browser.
type rtcPeer struct {
	n   int
	cfg *WebRTCConfig
	mux ice.UDPMux // the participant's one UDP socket
	ws  *websocket.Conn
	wmu sync.Mutex // one writer at a time on ws
	pc  *webrtc.PeerConnection
	id  string

	joinStart time.Time
	connected atomic.Int64               // unix nanos when ICE+DTLS connected; 0 before
	steps     [numJoinSteps]atomic.Int64 // unix nanos when each join step ended (joinSteps); 0 before
	simulcast bool                       // the server asked for simulcast; set before publishing starts
	wanted    atomic.Pointer[[]string]   // layers the server wants; nil = all
	view      []string                   // participant IDs in the last view message (signalling goroutine only)
	roomSize  atomic.Int32               // participants in the last roster (or joined) message

	cam    atomic.Pointer[camera] // nil without video
	bursts atomic.Bool            // the mouth (participant 0) sends marker bursts
	ear    atomic.Pointer[earLog] // an ear's onsets go here while measuring; nil otherwise
	sc     *shapedConn            // the downlink's shaper; nil when not capped

	mu      sync.Mutex
	streams map[uint32]*rtcStream // by SSRC
	tracks  int                   // remote tracks seen
	speaker string                // participant ID of the speaker (Config.Speaker); "" until seen
	spLayer []layerChange         // the layer of the speaker's video, from layers messages
	layers  map[string]string     // the last layers message: participant ID to layer

	done    chan struct{} // closed by close
	stopped sync.Once
	wg      sync.WaitGroup
}

// rtcStream counts one received RTP stream.
type rtcStream struct {
	video bool
	rx    rxStats
	bytes uint64
}

// rtcSocketBuffer is the kernel buffer of each participant's UDP socket: a
// subscriber of many cameras gets bursts of keyframes.
const rtcSocketBuffer = 4 << 20

// quietLogs turns pion's own logging off: leaving a room makes its
// interceptors and sockets complain about closed pipes, which says nothing
// about the server.
func quietLogs() *logging.DefaultLoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}

// newRTCMediaEngine registers Opus and VP8 without RTX (RFC 4588), so
// retransmissions in both directions travel on the media SSRC. pion does
// RTX for a simulcast publisher wrong (its NACK responder copies the rid
// header extension onto the RTX packet where Chrome sends rrid, and the
// server then takes the RTX SSRC for that layer's media and the layer
// stops), and a pion subscriber's NACK generator does not see packets
// repaired over RTX (it asks for them again and again). Chrome does both
// right; the server's RTX is tested with pion peers in sfu.
func newRTCMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	return me, nil
}

// newRTCAPI builds a pion API like a browser's: Opus and VP8, the default
// interceptors (NACK, RTCP reports, TWCC), loopback candidates only, all
// media on one UDP socket with a large buffer.
func newRTCAPI(mux ice.UDPMux) (*webrtc.API, error) {
	me, err := newRTCMediaEngine()
	if err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	quiet := quietLogs()
	reg := &interceptor.Registry{}
	// pion's default interceptors without its stats interceptor, which
	// only feeds GetStats (unused here) and cost about 4 % of the tool's
	// CPU in a 100-camera room. NACK each lost packet at most 10 times,
	// 100 ms apart, as Chrome does (pion's default asks again until the
	// packet leaves its window, which on a lossy line keeps the line full
	// of retransmissions).
	if err := webrtc.ConfigureNackWithOptions(me, reg,
		[]nack.GeneratorOption{nack.GeneratorMaxNacksPerPacket(10), nack.WithGeneratorLoggerFactory(quiet)},
		nack.WithResponderLoggerFactory(quiet)); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(reg, []report.ReceiverOption{report.WithReceiverLoggerFactory(quiet)},
		report.WithSenderLoggerFactory(quiet)); err != nil {
		return nil, err
	}
	if err := webrtc.ConfigureTWCCSenderWithOptions(me, reg, twcc.WithLoggerFactory(quiet)); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// joinRTC connects participant n and starts its reader; media starts with
// publish once the server's first offer is answered.
func joinRTC(ctx context.Context, cfg *WebRTCConfig, n int) (*rtcPeer, error) {
	p := &rtcPeer{n: n, cfg: cfg, streams: map[uint32]*rtcStream{}, done: make(chan struct{}), joinStart: time.Now()}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("participant %d: %w", n, err)
	}
	_ = conn.SetReadBuffer(rtcSocketBuffer)
	_ = conn.SetWriteBuffer(rtcSocketBuffer)
	if cfg.capped(n) {
		p.sc = newShapedConn(conn, cfg.BWCapKbps, shapedQueueDelay)
		p.mux = webrtc.NewICEUDPMux(quietLogs().NewLogger("ice"), p.sc)
	} else {
		p.mux = webrtc.NewICEUDPMux(quietLogs().NewLogger("ice"), conn)
	}
	api, err := newRTCAPI(p.mux)
	if err != nil {
		_ = p.mux.Close()
		return nil, fmt.Errorf("participant %d: %w", n, err)
	}
	origin := "http://" + u.Host
	if u.Scheme == "wss" {
		origin = "https://" + u.Host
	}
	dctx, cancel := context.WithTimeout(ctx, firstOfferTimeout)
	defer cancel()
	var resp *http.Response
	p.ws, resp, err = wsDialer(u, cfg.sourceIndex(n)).DialContext(dctx, cfg.URL, http.Header{"Origin": {origin}})
	if err != nil {
		_ = p.mux.Close()
		if resp != nil {
			err = fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, fmt.Errorf("participant %d: websocket: %w", n, err)
	}
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		_ = p.ws.Close()
		_ = p.mux.Close()
		return nil, fmt.Errorf("participant %d: %w", n, err)
	}
	p.step(stepDialed)
	p.pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			p.step(stepICE)
		}
	})
	p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			p.connected.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	p.pc.OnTrack(p.onTrack)
	join := map[string]string{"type": "join", "room": cfg.Room, "name": cfg.name(n)}
	if err := p.write(join); err != nil {
		p.close()
		return nil, fmt.Errorf("participant %d: join: %w", n, err)
	}
	first := make(chan error, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.signalling(first)
	}()
	select {
	case err = <-first:
	case <-dctx.Done():
		err = fmt.Errorf("no offer within %v", firstOfferTimeout)
	}
	if err != nil {
		p.close()
		return nil, fmt.Errorf("participant %d: %w", n, err)
	}
	return p, nil
}

// The steps of a join, in order; the last one ends when the
// PeerConnection is connected (rtcPeer.connected).
const (
	stepDialed = iota // WebSocket open and PeerConnection made
	stepOffer         // the server's first offer arrived
	stepAnswer        // the answer is sent
	stepICE           // ICE connected
	numJoinSteps
)

// joinSteps names what each step's time covers, for the report.
var joinSteps = [numJoinSteps + 1]string{"dial", "server's first offer", "answer", "ICE", "DTLS"}

// step records the end of join step i (only its first end counts).
func (p *rtcPeer) step(i int) { p.steps[i].CompareAndSwap(0, time.Now().UnixNano()) }

// stepTimes returns how long each join step took (the last one is DTLS, up
// to connected); ok is false unless the participant connected.
func (p *rtcPeer) stepTimes() (d [numJoinSteps + 1]time.Duration, ok bool) {
	prev := p.joinStart.UnixNano()
	ends := make([]int64, 0, numJoinSteps+1)
	for i := range p.steps {
		ends = append(ends, p.steps[i].Load())
	}
	ends = append(ends, p.connected.Load())
	for i, e := range ends {
		if e == 0 {
			return d, false
		}
		d[i] = time.Duration(max(e-prev, 0))
		prev = max(e, prev)
	}
	return d, true
}

// shapedQueueDelay is the buffer of a capped participant's line, in time
// at its rate (a home router's few hundred milliseconds).
const shapedQueueDelay = 250 * time.Millisecond

// firstOfferTimeout bounds a join: the server renegotiates with everyone
// already in the room for each newcomer, so a big room answers slowly.
const firstOfferTimeout = 30 * time.Second

// wsDialer dials a participant's WebSocket; n is its source index
// (WebRTCConfig.sourceIndex). Towards an IPv4 loopback server each
// participant comes from its own address in 127.0.0.0/8, as real
// participants come from their own addresses: the server limits how fast
// one source may join.
func wsDialer(u *url.URL, n int) *websocket.Dialer {
	d := *websocket.DefaultDialer
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.To4() != nil && ip.IsLoopback() {
		src := net.IPv4(127, 0, 1+byte(n/250), 1+byte(n%250))
		d.NetDialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext
	}
	return &d
}

// addTracks adds the microphone and, if configured, the camera (three RIDs
// when the server's first offer asks for simulcast) before the first answer,
// as the browser client does.
func (p *rtcPeer) addTracks() (*microphone, *camera, error) {
	stream := strings.ReplaceAll(p.cfg.name(p.n), " ", "-")
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", stream)
	if err != nil {
		return nil, nil, err
	}
	as, err := p.pc.AddTrack(track)
	if err != nil {
		return nil, nil, err
	}
	p.drainRTCP(as, nil)
	audio := &microphone{track: track, sender: as, mk: p.cfg.Markers,
		pk: rtp.NewPacketizer(1200, 111, 0, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000)}
	if p.cfg.mouth(p.n) {
		if audio.mouth, err = newOpusMouth(p.cfg.Markers, &p.bursts, p.cfg.Speaker); err != nil {
			return nil, nil, err
		}
	}
	if !p.cfg.Video {
		return audio, nil, nil
	}
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	cam := &camera{pc: p.pc}
	if !p.simulcast {
		v, err := webrtc.NewTrackLocalStaticRTP(vp8, "cam", stream)
		if err != nil {
			return nil, nil, err
		}
		cam.sender, err = p.pc.AddTrack(v)
		if err != nil {
			return nil, nil, err
		}
		cam.layers = []*cameraLayer{{track: v, src: newVP8Source(uint64(p.n)*7+1, p.cfg.VideoKbps, 1280, 720)}}
		p.drainRTCP(cam.sender, cam)
		return audio, cam, nil
	}
	for i, l := range simulcastLayers {
		v, err := webrtc.NewTrackLocalStaticRTP(vp8, "cam", stream, webrtc.WithRTPStreamID(l.rid))
		if err != nil {
			return nil, nil, err
		}
		if cam.sender == nil {
			cam.sender, err = p.pc.AddTrack(v)
		} else {
			err = cam.sender.AddEncoding(v)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("simulcast %s: %w", l.rid, err)
		}
		kbps := max(int(float64(p.cfg.VideoKbps)*l.share), 1)
		cam.layers = append(cam.layers, &cameraLayer{rid: l.rid, track: v, src: newVP8Source(uint64(p.n)*7+uint64(i), kbps, l.w, l.h)})
	}
	p.drainRTCP(cam.sender, cam)
	return audio, cam, nil
}

// drainRTCP reads a sender's RTCP, which runs the interceptors (NACK
// responder, TWCC), and answers keyframe requests for cam as a browser does.
func (p *rtcPeer) drainRTCP(s *webrtc.RTPSender, cam *camera) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := s.ReadRTCP()
			if err != nil {
				return
			}
			if cam == nil {
				continue
			}
			for _, pkt := range pkts {
				switch pkt.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					cam.keyframe(pkt.DestinationSSRC())
				}
			}
		}
	}()
}

// signalling reads the server's messages until the connection ends,
// answering every offer. It reports the first answer (or failure) on first.
func (p *rtcPeer) signalling(first chan<- error) {
	answered := false
	report := func(err error) {
		if !answered {
			answered = true
			first <- err
		}
	}
	for {
		var m wsMsg
		if err := p.ws.ReadJSON(&m); err != nil {
			report(fmt.Errorf("signalling: %w", err))
			return
		}
		switch m.Type {
		case "joined":
			p.mu.Lock()
			p.id = m.ID
			p.mu.Unlock()
			p.roomSize.Store(int32(len(m.Participants)))
			if err := p.sendView(m); err != nil {
				report(fmt.Errorf("view: %w", err))
				return
			}
		case "offer":
			p.step(stepOffer)
			if !answered {
				if err := p.startMedia(m.SDP); err != nil {
					report(err)
					return
				}
			}
			if err := p.answer(m.SDP); err != nil {
				report(fmt.Errorf("answer: %w", err))
				return
			}
			p.step(stepAnswer)
			report(nil)
		case "roster":
			p.roomSize.Store(int32(len(m.Participants)))
			if err := p.sendView(m); err != nil {
				report(fmt.Errorf("view: %w", err))
				return
			}
		case "publish":
			layers := m.Layers
			p.wanted.Store(&layers)
		case "layers":
			p.onLayers(m.Tracks)
		case "error":
			if m.Code == "room_not_found" || m.Code == "room_locked" || m.Code == "internal" {
				report(fmt.Errorf("server: %s: %s", m.Code, m.Message))
				return
			}
		}
	}
}

// startMedia adds the tracks (simulcast if the first offer asks for it) and
// starts publishing.
func (p *rtcPeer) startMedia(offer string) error {
	p.simulcast = strings.Contains(offer, "a=simulcast:recv")
	audio, cam, err := p.addTracks()
	if err != nil {
		return err
	}
	if cam != nil {
		p.cam.Store(cam)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.publish(audio, cam)
	}()
	return nil
}

// sendView tells the server to send the video of everyone else in the
// roster (up to Tiles of them) at the configured tile size, as the browser
// client reports its tiles.
func (p *rtcPeer) sendView(m wsMsg) error {
	p.mu.Lock()
	self := p.id
	speaker := p.speaker
	if p.cfg.Speaker && speaker == "" {
		for _, q := range m.Participants {
			if q.Name == speakerName {
				speaker, p.speaker = q.ID, q.ID
			}
		}
	}
	p.mu.Unlock()
	var ids []string
	if speaker != "" && speaker != self {
		ids = append(ids, speaker) // the main tile
	}
	for _, q := range m.Participants {
		if q.ID != self && q.ID != speaker && len(ids) < p.cfg.Tiles {
			ids = append(ids, q.ID)
		}
	}
	if slices.Equal(ids, p.view) {
		return nil
	}
	p.view = ids
	type tile struct {
		ID string `json:"id"`
		W  int    `json:"w"`
		H  int    `json:"h"`
	}
	tiles := make([]tile, 0, len(ids))
	for _, id := range ids {
		if id == speaker && p.cfg.MainWidth > 0 {
			tiles = append(tiles, tile{ID: id, W: p.cfg.MainWidth, H: p.cfg.MainHeight})
			continue
		}
		tiles = append(tiles, tile{ID: id, W: p.cfg.TileWidth, H: p.cfg.TileHeight})
	}
	return p.write(map[string]any{"type": "view", "tiles": tiles})
}

func (p *rtcPeer) answer(sdp string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-p.done:
		return errors.New("closed")
	}
	answer := p.pc.LocalDescription().SDP
	if p.simulcast {
		answer = simulcastAnswer(answer)
	}
	return p.write(map[string]string{"type": "answer", "sdp": answer})
}

// simulcastAnswer makes pion's answer to a simulcast offer look like a
// browser's: pion echoes the offer's "a=rid:X recv" and "a=simulcast:recv"
// lines next to its own send lines, and declares the layers' SSRCs, which
// keeps the server from telling the layers apart by RID (RFC 8853: with
// RIDs, SSRCs are not signalled).
func simulcastAnswer(sdp string) string {
	lines := strings.SplitAfter(sdp, "\n")
	out := make([]string, 0, len(lines))
	video := false
	for _, l := range lines {
		if strings.HasPrefix(l, "m=") {
			video = strings.HasPrefix(l, "m=video")
		}
		t := strings.TrimRight(l, "\r\n")
		if video && (strings.HasPrefix(t, "a=ssrc:") || strings.HasPrefix(t, "a=ssrc-group:") ||
			strings.HasPrefix(t, "a=simulcast:recv") || strings.HasPrefix(t, "a=rid:") && strings.HasSuffix(t, " recv")) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

// write sends one signalling message.
func (p *rtcPeer) write(v any) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return p.ws.WriteJSON(v)
}

// publish sends 20 ms Opus frames and, with a camera, 30 frames/s of VP8
// on every layer the server wants until the participant closes.
func (p *rtcPeer) publish(audio *microphone, cam *camera) {
	// Stagger participants so that their frames do not all leave at once.
	start := time.Now().Add(time.Duration(p.n%33) * time.Millisecond)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	audioDue, videoDue := start, start
	const audioFrame = 20 * time.Millisecond
	const videoFrame = time.Second / videoFPS
	for {
		select {
		case <-p.done:
			return
		case now := <-tick.C:
			for !audioDue.After(now) {
				audio.send()
				audioDue = audioDue.Add(audioFrame)
			}
			for cam != nil && !videoDue.After(now) {
				cam.send(p.wanted.Load())
				videoDue = videoDue.Add(videoFrame)
			}
		}
	}
}

// speakerName is the display name of the participant that speaks with
// Config.Speaker (participant 0, the mouth, which then hums between its
// bursts).
const speakerName = "load 0"

// microphone sends Opus frames with the RFC 6464 audio level header, from
// which the server finds the speakers: the mouth's real frames with their
// real level, everyone else's silence frames at 127 (silence).
type microphone struct {
	track   *webrtc.TrackLocalStaticRTP
	sender  *webrtc.RTPSender
	pk      rtp.Packetizer
	mouth   *opusMouth // participant 0 only
	mk      *Markers
	levelID uint8 // negotiated extension ID; 0 until known or if not negotiated
	looked  bool
}

// send sends one 20 ms frame.
func (m *microphone) send() {
	if !m.looked {
		for _, e := range m.sender.GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				m.levelID = uint8(e.ID)
			}
		}
		m.looked = m.levelID != 0
	}
	payload, level, start := opusSilence, uint8(127), false // silence at -127 dBov
	if m.mouth != nil {
		payload, level, start = m.mouth.next(time.Now())
	}
	for _, pkt := range m.pk.Packetize(payload, 960) {
		if m.levelID != 0 {
			v := level
			if v < 127 {
				v |= 0x80 // voice activity
			}
			_ = pkt.SetExtension(m.levelID, []byte{v})
		}
		if start {
			// The burst starts at the frame's start, which the encoder's
			// lookahead puts this far into the decoded packet.
			m.mk.burst(mouthBrowser, time.Now().Add(opusLookahead))
			start = false
		}
		_ = m.track.WriteRTP(pkt)
	}
}

// onLayers records a layers message: the speaker's layer over time and
// everyone's last layer.
func (p *rtcPeer) onLayers(tracks []layerInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.layers = make(map[string]string, len(tracks))
	for _, t := range tracks {
		p.layers[t.ID] = t.Layer
		if t.ID == p.speaker && p.speaker != "" {
			if n := len(p.spLayer); n == 0 || p.spLayer[n-1].layer != t.Layer {
				p.spLayer = append(p.spLayer, layerChange{at: time.Now(), layer: t.Layer})
			}
		}
	}
}

// camera is a synthetic camera: one layer, or three simulcast layers.
type camera struct {
	pc         *webrtc.PeerConnection
	sender     *webrtc.RTPSender
	midID      uint8 // negotiated header extension IDs; 0 until known
	ridID      uint8
	mid        string
	negotiated bool
	layers     []*cameraLayer
}

// cameraLayer is one encoding of the camera.
type cameraLayer struct {
	rid   string
	track *webrtc.TrackLocalStaticRTP
	src   *vp8Source
	pk    rtp.Packetizer
	sent  atomic.Uint64 // payload bytes sent
}

// send makes one frame on every layer and sends the layers in wanted (all
// when wanted is nil). Simulcast packets carry the MID and RID header
// extensions (RFC 8843, RFC 8852), which is how the server tells the layers
// apart; pion does not add them itself.
func (c *camera) send(wanted *[]string) {
	if !c.negotiated {
		c.negotiate()
	}
	simulcast := len(c.layers) > 1
	if simulcast && !c.negotiated {
		return // without MID and RID the server could not place the layers
	}
	for _, l := range c.layers {
		if l.rid != "" && wanted != nil && !slices.Contains(*wanted, l.rid) {
			l.src.skip() // a paused layer keeps its schedule, so it resumes on time
			continue
		}
		frame, _ := l.src.next()
		if l.pk == nil {
			l.pk = rtp.NewPacketizer(1200, 96, 0, &codecs.VP8Payloader{EnablePictureID: true},
				rtp.NewRandomSequencer(), 90000)
		}
		l.sent.Add(uint64(len(frame)))
		for _, pkt := range l.pk.Packetize(frame, 90000/videoFPS) {
			if simulcast {
				_ = pkt.SetExtension(c.midID, []byte(c.mid))
				_ = pkt.SetExtension(c.ridID, []byte(l.rid))
			}
			_ = l.track.WriteRTP(pkt)
		}
	}
}

// keyframe makes the next frame of the layers sent with these SSRCs (all
// layers if none is known) a keyframe.
func (c *camera) keyframe(ssrcs []uint32) {
	encs := c.sender.GetParameters().Encodings
	hit := false
	for _, l := range c.layers {
		for _, e := range encs {
			if e.RID == l.rid && slices.Contains(ssrcs, uint32(e.SSRC)) {
				l.src.keyNow.Store(true)
				hit = true
			}
		}
	}
	if !hit {
		for _, l := range c.layers {
			l.src.keyNow.Store(true)
		}
	}
}

// negotiate reads the MID and the header extension IDs once the first
// answer is set.
func (c *camera) negotiate() {
	for _, t := range c.pc.GetTransceivers() {
		if t.Sender() == c.sender {
			c.mid = t.Mid()
		}
	}
	for _, e := range c.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			c.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			c.ridID = uint8(e.ID)
		}
	}
	c.negotiated = c.midID != 0 && c.ridID != 0 && c.mid != ""
}

// onTrack counts every packet of a remote track until it ends.
func (p *rtcPeer) onTrack(tr *webrtc.TrackRemote, rc *webrtc.RTPReceiver) {
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	p.mu.Lock()
	p.tracks++
	p.mu.Unlock()
	p.wg.Add(2)
	go func() { // RTCP must be read for the interceptors to run
		defer p.wg.Done()
		for {
			if _, _, err := rc.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	var ear *opusEar
	if !video && p.cfg.ear(p.n) {
		var err error
		if ear, err = newOpusEar(); err != nil {
			p.cfg.Log.Warn("ear", "participant", p.n, "err", err)
		}
	}
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			now := time.Now()
			if el := p.ear.Load(); ear != nil && el != nil {
				// Any audio track: per participant or a slot the server
				// fills with whoever talks; only what it carries counts.
				ear.packet(buf[:n], now, el)
			}
			seq := uint16(buf[2])<<8 | uint16(buf[3])
			ts := uint32(buf[4])<<24 | uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
			ssrc := uint32(buf[8])<<24 | uint32(buf[9])<<16 | uint32(buf[10])<<8 | uint32(buf[11])
			p.mu.Lock()
			s := p.streams[ssrc]
			if s == nil {
				s = &rtcStream{video: video}
				p.streams[ssrc] = s
			}
			s.rx.add(seq, ts, now)
			s.bytes += uint64(n)
			p.mu.Unlock()
		}
	}()
}

// resetStats starts a new measurement window.
func (p *rtcPeer) resetStats() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sc != nil {
		p.sc.mark()
	}
	for ssrc, s := range p.streams {
		p.streams[ssrc] = &rtcStream{video: s.video}
	}
}

// rtcTotals is what one subscriber received in the window.
type rtcTotals struct {
	audioStreams, videoStreams int
	audioBytes, videoBytes     uint64
	expected, received         uint64
	videoExpected, videoRecv   uint64
}

func (p *rtcPeer) totals() rtcTotals {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t rtcTotals
	for _, s := range p.streams {
		if !s.rx.started {
			continue
		}
		if s.video {
			t.videoStreams++
			t.videoBytes += s.bytes
		} else {
			t.audioStreams++
			t.audioBytes += s.bytes
		}
		got := min(s.rx.received, s.rx.expected()) // retransmissions are not extra packets
		t.expected += s.rx.expected()
		t.received += got
		if s.video {
			t.videoExpected += s.rx.expected()
			t.videoRecv += got
		}
	}
	return t
}

// sentVideo returns the VP8 payload bytes sent so far on each layer,
// smallest first (one entry without simulcast).
func (p *rtcPeer) sentVideo() []uint64 {
	cam := p.cam.Load()
	if cam == nil {
		return nil
	}
	out := make([]uint64, len(cam.layers))
	for i, l := range cam.layers {
		out[i] = l.sent.Load()
	}
	return out
}

// trackCount returns how many remote tracks have arrived.
func (p *rtcPeer) trackCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks
}

// close leaves the room and waits for the participant's goroutines.
func (p *rtcPeer) close() {
	p.stopped.Do(func() {
		close(p.done)
		_ = p.write(map[string]string{"type": "leave"})
		_ = p.ws.Close()
		_ = p.pc.Close()
	})
	p.wg.Wait()
	_ = p.mux.Close()
}
