package loadtest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"

	"dialroom/internal/g722"
	"dialroom/mixer"
)

// Codecs the callers can offer (Config.Codec).
const (
	CodecPCMU = "pcmu" // G.711 µ-law, payload type 0
	CodecG722 = "g722" // G.722 wideband, payload type 9 (RTP clock 8000, RFC 3551)
)

// caller is one phone call from this process.
type caller struct {
	id    int
	conn  *net.UDPConn // RTP, on an even port
	rtcp  *net.UDPConn // the next port, where the server sends RTCP; never read
	dlg   *sipgo.DialogClientSession
	setup time.Duration

	// Send side, owned by the pacer goroutine.
	remote  *net.UDPAddr
	eventPT uint8
	pt      uint8         // the audio payload type: 0 (PCMU) or 9 (G.722)
	enc     *g722.Encoder // G.722 callers only
	up      mixer.Upsampler
	wide    [2 * frameSamples]int16
	seq     uint16
	ts      uint32
	ssrc    uint32
	keys    []byte // RFC 4733 events still to send
	keyPkt  int    // packet index within the current key
	src     source
	pcm     [frameSamples]int16
	buf     [12 + frameSamples]byte

	mk        *Markers     // the run's marker clock
	joinedAt  atomic.Int64 // unix ns when the last key went out; 0 before
	serverBye atomic.Bool

	// Receive side, guarded by mu (the reader writes, Run reads at the end).
	dec      *g722.Decoder // G.722 callers only; owned by the reader
	down     mixer.Downsampler
	mu       sync.Mutex
	measure  bool
	rx       rxStats
	det      [numMouths]onsetDetector // 1 kHz (phone mouth) and 2 kHz (browser mouth)
	ear      *earLog                  // nil for the mouth
	lastRecv time.Time
	done     chan struct{}
}

// listenRTPPair opens the caller's RTP socket on an even loopback port and
// its RTCP socket on the next one, as a phone does: the server sends its RTCP
// to RTP port + 1, which must not be somebody else's socket (the tool's SIP
// socket would log it as a broken SIP message).
func listenRTPPair() (rtp, rtcp *net.UDPConn, err error) {
	const lo, hi = 40000, 60000
	start := rand.IntN((hi - lo) / 2)
	for i := range 200 {
		port := lo + 2*((start+i)%((hi-lo)/2))
		rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			continue
		}
		rtcp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
		if err == nil {
			return rtp, rtcp, nil
		}
		rtp.Close()
	}
	return nil, nil, fmt.Errorf("loadtest: no free RTP/RTCP port pair in %d-%d: %w", lo, hi, err)
}

// close closes both sockets and waits for the reader to end.
func (c *caller) close() {
	c.conn.Close()
	c.rtcp.Close()
	<-c.done
}

// setCodec prepares the caller for codec (CodecPCMU or CodecG722).
func (c *caller) setCodec(codec string) error {
	if codec != CodecG722 {
		return nil
	}
	var err error
	if c.enc, err = g722.NewEncoder(); err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if c.dec, err = g722.NewDecoder(); err != nil {
		c.enc.Free()
		return fmt.Errorf("loadtest: %w", err)
	}
	c.pt = 9
	return nil
}

// free releases the G.722 codec state once the call is over (the pacer and
// the reader are done with it).
func (c *caller) free() {
	if c.enc != nil {
		c.enc.Free()
		c.dec.Free()
	}
}

// offer is the caller's SDP: its codec (PCMU or G.722 only, so the server
// must take it) and telephone-event on its RTP port.
func (c *caller) offer() []byte {
	port := c.conn.LocalAddr().(*net.UDPAddr).Port
	codec := "0 101\r\na=rtpmap:0 PCMU/8000"
	if c.pt == 9 {
		codec = "9 101\r\na=rtpmap:9 G722/8000"
	}
	return []byte(fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %s\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n", c.id+1, port, codec))
}

// parseAnswer is parseAnswer for this caller: the server must answer with
// the caller's codec.
func (c *caller) parseAnswer(sdp []byte) (*net.UDPAddr, uint8, error) {
	addr, ev, audio, err := parseAnswer(sdp)
	if err == nil && audio != int(c.pt) {
		err = fmt.Errorf("loadtest: answer with payload type %d, want %d", audio, c.pt)
	}
	return addr, ev, err
}

// parseAnswer reads the server's RTP address, telephone-event payload type
// and first audio payload type from an SDP answer (RFC 4566: the session c=
// line and the first m=audio).
func parseAnswer(sdp []byte) (*net.UDPAddr, uint8, int, error) {
	var ip net.IP
	port, pt, audio := 0, -1, -1
	for _, line := range strings.Split(string(sdp), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "c=IN IP4 ") || strings.HasPrefix(line, "c=IN IP6 "):
			ip = net.ParseIP(strings.Fields(line[9:])[0])
		case strings.HasPrefix(line, "m=audio ") && port == 0:
			f := strings.Fields(line)
			if len(f) >= 2 {
				port, _ = strconv.Atoi(f[1])
			}
			if len(f) >= 4 {
				audio, _ = strconv.Atoi(f[3])
			}
		case strings.HasPrefix(line, "a=rtpmap:") && strings.Contains(strings.ToLower(line), "telephone-event/8000"):
			n, _, _ := strings.Cut(line[len("a=rtpmap:"):], " ")
			pt, _ = strconv.Atoi(n)
		}
	}
	if ip == nil || port <= 0 || port > 65535 {
		return nil, 0, 0, fmt.Errorf("loadtest: answer without address: %q", sdp)
	}
	if pt < 0 || pt > 127 {
		return nil, 0, 0, fmt.Errorf("loadtest: answer without telephone-event")
	}
	return &net.UDPAddr{IP: ip, Port: port}, uint8(pt), audio, nil
}

// dtmfEvent maps a key to its RFC 4733 event code.
func dtmfEvent(k byte) byte {
	switch {
	case k >= '0' && k <= '9':
		return k - '0'
	case k == '*':
		return 10
	}
	return 11 // '#'
}

// Each key is 5 packets (100 ms) of event, 3 end packets (RFC 4733 section
// 2.5.1.4: the end is sent three times) and 3 frames of silence between keys.
const keyPackets = 5 + 3 + 3

// next builds the caller's next packet into c.buf; bursts says whether the
// mouth sends its marker now. It returns the packet and whether it starts a burst.
func (c *caller) next(bursts bool) ([]byte, bool) {
	h := c.buf[:12]
	h[0] = 0x80
	c.seq++
	binary.BigEndian.PutUint16(h[2:], c.seq)
	binary.BigEndian.PutUint32(h[8:], c.ssrc)
	if len(c.keys) > 0 && c.keyPkt < 8 {
		// One event lasts from the timestamp of its first packet (RFC 4733 2.5.1.1).
		h[1] = c.eventPT
		if c.keyPkt == 0 {
			h[1] |= 0x80 // marker on the first packet of an event
		}
		binary.BigEndian.PutUint32(h[4:], c.ts)
		p := c.buf[12:16]
		p[0] = dtmfEvent(c.keys[0])
		p[1] = 10 // volume -10 dBm0
		dur := min(c.keyPkt+1, 5) * frameSamples
		if c.keyPkt >= 5 {
			p[1] |= 0x80 // end bit
		}
		binary.BigEndian.PutUint16(p[2:], uint16(dur))
		c.keyPkt++
		if c.keyPkt == 8 { // the event took 8 packet times on the wire
			c.ts += 8 * frameSamples
		}
		return c.buf[:16], false
	}
	if len(c.keys) > 0 {
		c.keyPkt++
		if c.keyPkt == keyPackets {
			c.keys, c.keyPkt = c.keys[1:], 0
			if len(c.keys) == 0 {
				c.joinedAt.Store(time.Now().UnixNano())
			}
		}
	}
	h[1] = c.pt
	binary.BigEndian.PutUint32(h[4:], c.ts)
	c.ts += frameSamples // G.722 too: its RTP clock is 8000 (RFC 3551 section 4.5.2)
	start := c.src.frame(c.pcm[:], bursts, c.src.mouth && bursts && c.mk.due(mouthPhone, time.Now()))
	if c.enc != nil {
		// The signal is made at 8 kHz; G.722 codes 16 kHz into as many bytes.
		if _, err := c.enc.Encode(c.buf[12:], c.up.Process(c.wide[:], c.pcm[:])); err != nil {
			clear(c.buf[12:])
		}
	} else {
		ulawEncode(c.buf[12:], c.pcm[:])
	}
	return c.buf[:12+frameSamples], start
}

// read receives the server's RTP until the socket closes.
func (c *caller) read() {
	defer close(c.done)
	buf := make([]byte, 1500)
	var pcm, wide [3000]int16
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		p := buf[:n]
		if n < 12 || p[0]>>6 != 2 || p[1]&0x7f != c.pt {
			continue // not RTP of the caller's codec
		}
		hl := 12 + 4*int(p[0]&0x0f)
		if p[0]&0x10 != 0 && n >= hl+4 {
			hl += 4 + 4*int(binary.BigEndian.Uint16(p[hl+2:]))
		}
		if hl > n {
			continue
		}
		seq := binary.BigEndian.Uint16(p[2:])
		ts := binary.BigEndian.Uint32(p[4:])
		var k int
		if c.dec != nil {
			w, err := c.dec.Decode(wide[:], p[hl:min(n, hl+len(wide)/2)])
			if err != nil {
				continue
			}
			k = len(c.down.Process(pcm[:], wide[:w&^1]))
		} else {
			k = ulawDecode(pcm[:], p[hl:])
		}
		c.mu.Lock()
		c.lastRecv = now
		if c.measure {
			c.rx.add(seq, ts, now)
			for m := range c.det {
				if off := c.det[m].feed(pcm[:k]); off >= 0 && c.ear != nil {
					c.ear.heard(m, now.Add(time.Duration(off)*time.Second/rate))
				}
			}
		}
		c.mu.Unlock()
	}
}

// startMeasuring resets the receive statistics at the start of the window;
// every caller but the mouth starts listening for both mouths' bursts.
func (c *caller) startMeasuring() {
	c.mu.Lock()
	c.measure, c.rx = true, rxStats{}
	c.det = [numMouths]onsetDetector{newOnsetDetector(burstFreq, rate), newOnsetDetector(browserFreq, rate)}
	if !c.src.mouth {
		c.ear = c.mk.ear(false)
	}
	c.mu.Unlock()
}

// stopMeasuring ends the ear's listening at the end of the window.
func (c *caller) stopMeasuring(t time.Time) {
	c.mu.Lock()
	c.measure = false
	if c.ear != nil {
		c.ear.stop(t)
	}
	c.mu.Unlock()
}
