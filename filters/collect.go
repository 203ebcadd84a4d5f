package filters

// Collector gathers one message, its MessageStart and its whole body, for
// filters that act on complete messages (onMessage, encoders, mux). Its zero
// value is ready to use. The body it collects is owned by the Collector
// until Take hands it over (the caller must then release it) or Drop
// releases it.
type Collector struct {
	start  *MessageStart
	body   *Data
	inside bool
}

// Begin starts a message.
func (c *Collector) Begin(e *MessageStart) {
	c.start, c.body, c.inside = e, nil, true
}

// Add appends the bytes of d to the body (sharing its chunks); the caller
// keeps d.
func (c *Collector) Add(d *Data) {
	if !c.inside || d.size == 0 {
		return
	}
	if c.body == nil {
		c.body = NewData()
	}
	c.body.Push(d)
}

// AddOwned is Add for a Data the caller hands over: the first one becomes
// the body itself, so a one-chunk body costs no copy and no allocation.
func (c *Collector) AddOwned(d *Data) {
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

// Take ends the message and returns its start (nil when there was no
// MessageStart) and its body (never nil).
func (c *Collector) Take() (*MessageStart, *Data) {
	start, body := c.start, c.body
	c.start, c.body, c.inside = nil, nil, false
	if body == nil {
		body = NewData()
	}
	return start, body
}

// Drop ends the message, discarding what was collected.
func (c *Collector) Drop() {
	if c.body != nil {
		c.body.Release()
	}
	c.start, c.body, c.inside = nil, nil, false
}

// Inside reports whether a message has begun and not yet been taken or
// dropped.
func (c *Collector) Inside() bool { return c.inside }
