package mixer

// addInto adds frame into sum (int32, so no overflow for any realistic number
// of talkers).
func addInto(sum []int32, frame []int16) {
	for i, v := range frame[:len(sum)] {
		sum[i] += int32(v)
	}
}

// minusOwn writes sum - own into out through the soft limiter. The subtraction
// happens before limiting, so a talker hears the others exactly as everyone
// else does.
func minusOwn(out []int16, sum []int32, own []int16) {
	for i, v := range sum {
		out[i] = softLimit(v - int32(own[i]))
	}
}

// limitKnee is where the limiter starts to bend (about -3 dBFS); below it the
// signal passes untouched, so one talker is bit-exact.
const limitKnee = 23000

// softLimit maps any int32 sum into int16 without hard clipping: above the knee
// the excess is compressed along x/(x+h), which approaches full scale smoothly.
func softLimit(v int32) int16 {
	const head = 32767 - limitKnee
	switch {
	case v > limitKnee:
		x := int64(v - limitKnee)
		return int16(limitKnee + x*head/(x+head))
	case v < -limitKnee:
		x := int64(-v - limitKnee)
		return int16(-(limitKnee + x*head/(x+head)))
	}
	return int16(v)
}

// level returns the frame's mean square energy, used for speaking detection.
func level(pcm []int16) int64 {
	var e int64
	for _, v := range pcm {
		e += int64(v) * int64(v)
	}
	return e / int64(max(len(pcm), 1))
}
