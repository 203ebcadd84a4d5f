package filters

// selector picks the events a handler or replacer acts on: the first event
// of the session, or every event of one kind.
type selector struct {
	kind  EventKind
	first bool
}

// match reports whether evt is picked; started tracks the first event.
func (s selector) match(evt Event, started *bool) bool {
	if s.first {
		hit := !*started
		*started = true
		return hit
	}
	return evt.Kind() == s.kind
}

// collector gathers one message: its MessageStart and its whole body.
type collector struct {
	start  *MessageStart
	body   *Data
	inside bool
}

// begin starts a message.
func (c *collector) begin(e *MessageStart) {
	c.start, c.body, c.inside = e, nil, true
}

// add appends the bytes of d to the body (sharing its chunks); the caller
// keeps d.
func (c *collector) add(d *Data) {
	if !c.inside || d.size == 0 {
		return
	}
	if c.body == nil {
		c.body = NewData()
	}
	c.body.Push(d)
}

// addOwned is add for a Data the caller hands over: the first one becomes
// the body itself, so a one-chunk body costs no copy and no allocation.
func (c *collector) addOwned(d *Data) {
	if !c.inside || d.size == 0 {
		d.Release()
		return
	}
	if c.body == nil {
		c.body = d
		return
	}
	c.body.Push(d)
	d.Release()
}

// take ends the message and returns its start (nil when there was no
// MessageStart) and its body (never nil).
func (c *collector) take() (*MessageStart, *Data) {
	start, body := c.start, c.body
	c.start, c.body, c.inside = nil, nil, false
	if body == nil {
		body = NewData()
	}
	return start, body
}

// drop ends the message, discarding what was collected.
func (c *collector) drop() {
	if c.body != nil {
		c.body.Release()
	}
	c.start, c.body, c.inside = nil, nil, false
}
