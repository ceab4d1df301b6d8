package sfu

// Size is the number of participants in the room (browsers and phones),
// without building the roster: phone calls poll it to play join and
// leave chimes, so it must stay cheap in rooms of thousands.
func (r *Room) Size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}
