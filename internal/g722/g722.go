// Package g722 is ITU-T G.722 (7 kHz wideband audio at 64 kbit/s) for the
// phone side: a thin cgo wrapper of libspandsp's encoder and decoder.
//
// G.722 codes 16 kHz 16-bit mono PCM into one byte per two samples (two
// sub-bands, ADPCM). Audio goes in and comes out at 16 kHz; on the wire
// (RFC 3551 §4.5.2) the RTP clock is nevertheless 8000 Hz, a historical
// error that the sip package deals with, not this one.
//
// Encoder and Decoder carry the ADPCM state of one stream and are not safe
// for concurrent use. They hold C memory: call Free when done (there is no
// finalizer). The package owns no network or RTP logic.
package g722

/*
#cgo pkg-config: spandsp
#include <stdint.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/private/g722.h>

static void copy_encode_state(g722_encode_state_t *dst, const g722_encode_state_t *src) { *dst = *src; }
*/
import "C"

import (
	"errors"
	"unsafe"
)

// SampleRate is the PCM rate of G.722 audio (Hz).
const SampleRate = 16000

// BitRate is the only mode this package uses (bit/s); libspandsp also has
// 56 and 48 kbit/s, which RTP peers do not negotiate.
const BitRate = 64000

// ErrFreed is returned by a codec used after Free.
var ErrFreed = errors.New("g722: codec already freed")

// ErrShortBuffer means dst cannot hold the result.
var ErrShortBuffer = errors.New("g722: destination buffer too short")

// Encoder turns 16 kHz PCM into G.722 at 64 kbit/s.
type Encoder struct {
	st *C.g722_encode_state_t
}

// NewEncoder returns an encoder with a fresh ADPCM state.
func NewEncoder() (*Encoder, error) {
	st := C.g722_encode_init(nil, C.int(BitRate), 0)
	if st == nil {
		return nil, errors.New("g722: encoder init failed")
	}
	return &Encoder{st: st}, nil
}

// Encode writes the G.722 coding of pcm (16 kHz; an even number of samples,
// an odd last one is dropped) into dst, which needs len(pcm)/2 bytes, and
// returns how many bytes it wrote.
func (e *Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if e.st == nil {
		return 0, ErrFreed
	}
	n := len(pcm) &^ 1
	if n == 0 {
		return 0, nil
	}
	if len(dst) < n/2 {
		return 0, ErrShortBuffer
	}
	k := C.g722_encode(e.st, (*C.uint8_t)(unsafe.Pointer(&dst[0])), (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(n))
	return int(k), nil
}

// CopyStateFrom sets e's ADPCM and filter state to src's: from now on e
// continues the stream src has been producing, so a decoder that followed
// src can follow e (a phone moved from one encoder's stream to another's).
func (e *Encoder) CopyStateFrom(src *Encoder) error {
	if e.st == nil || src == nil || src.st == nil {
		return ErrFreed
	}
	C.copy_encode_state(e.st, src.st)
	return nil
}

// Free releases the encoder's C memory. Idempotent.
func (e *Encoder) Free() {
	if e.st != nil {
		C.g722_encode_free(e.st)
		e.st = nil
	}
}

// Decoder turns G.722 at 64 kbit/s into 16 kHz PCM.
type Decoder struct {
	st *C.g722_decode_state_t
}

// NewDecoder returns a decoder with a fresh ADPCM state.
func NewDecoder() (*Decoder, error) {
	st := C.g722_decode_init(nil, C.int(BitRate), 0)
	if st == nil {
		return nil, errors.New("g722: decoder init failed")
	}
	return &Decoder{st: st}, nil
}

// Decode writes the PCM of src (any bytes are valid G.722) into dst, which
// needs 2*len(src) samples, and returns how many samples it wrote.
func (d *Decoder) Decode(dst []int16, src []byte) (int, error) {
	if d.st == nil {
		return 0, ErrFreed
	}
	if len(src) == 0 {
		return 0, nil
	}
	if len(dst) < 2*len(src) {
		return 0, ErrShortBuffer
	}
	k := C.g722_decode(d.st, (*C.int16_t)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(len(src)))
	return int(k), nil
}

// Free releases the decoder's C memory. Idempotent.
func (d *Decoder) Free() {
	if d.st != nil {
		C.g722_decode_free(d.st)
		d.st = nil
	}
}
