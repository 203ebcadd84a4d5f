package algo

import (
	"github.com/dop251/goja"

	"github.com/pipy-go/pipy/scripts/jsfunc"
)

// Cache is an insertion-ordered map from K to V: the Go side of
// algo.Cache. The zero value is an empty cache ready to use. It is not
// safe for concurrent use.
//
// Callbacks (allocate, free) may use the cache again: [Cache.GetOrAllocate]
// stores its result only after allocate returns, and [Cache.Clear] removes
// each entry before passing it to free, so a callback that panics (a
// script exception) leaves the cache consistent.
type Cache[K comparable, V any] struct {
	m          map[K]*cacheEntry[K, V]
	head, tail *cacheEntry[K, V] // oldest, newest
}

type cacheEntry[K comparable, V any] struct {
	key        K
	val        V
	prev, next *cacheEntry[K, V]
}

// Len returns the number of entries.
func (c *Cache[K, V]) Len() int { return len(c.m) }

// Get returns the value stored for key.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	if e, ok := c.m[key]; ok {
		return e.val, true
	}
	var zero V
	return zero, false
}

// Set stores val for key. A new key goes last in the order; an existing
// one keeps its place.
func (c *Cache[K, V]) Set(key K, val V) {
	if e, ok := c.m[key]; ok {
		e.val = val
		return
	}
	if c.m == nil {
		c.m = make(map[K]*cacheEntry[K, V])
	}
	e := &cacheEntry[K, V]{key: key, val: val, prev: c.tail}
	if c.tail != nil {
		c.tail.next = e
	} else {
		c.head = e
	}
	c.tail = e
	c.m[key] = e
}

// Delete removes key and returns the value it had.
func (c *Cache[K, V]) Delete(key K) (V, bool) {
	e, ok := c.m[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.unlink(e)
	return e.val, true
}

func (c *Cache[K, V]) unlink(e *cacheEntry[K, V]) {
	delete(c.m, e.key)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// GetOrAllocate returns the value stored for key; on a miss it calls
// allocate(key), stores the result (whatever it is) and returns it. If
// allocate panics nothing is stored.
func (c *Cache[K, V]) GetOrAllocate(key K, allocate func(K) V) V {
	if e, ok := c.m[key]; ok {
		return e.val
	}
	v := allocate(key)
	c.Set(key, v)
	return v
}

// Clear empties the cache, oldest entry first, calling free(key, value)
// (if not nil) for each entry just after removing it. Entries added by free
// are removed too. If free panics, the entries not yet visited stay.
func (c *Cache[K, V]) Clear(free func(K, V)) {
	for c.head != nil {
		e := c.head
		c.unlink(e)
		if free != nil {
			free(e.key, e.val)
		}
	}
}

// cacheItem is what the script's Cache stores: the key as given (to pass
// back to free) and the value.
type cacheItem struct {
	key, val goja.Value
}

// optionalFunc returns the function passed as argument i of a constructor
// or nil if the argument is null or undefined; anything else throws a
// TypeError.
func optionalFunc(rt *goja.Runtime, class string, call goja.ConstructorCall, i int) goja.Callable {
	v := call.Argument(i)
	if isNullish(v) {
		return nil
	}
	f, ok := goja.AssertFunction(v)
	if !ok {
		panic(rt.NewTypeError("%s: argument #%d expects a function", class, i+1))
	}
	return f
}

// callJS calls f with this = undefined; a script exception (or an
// interrupt) propagates to the caller's script as a panic, which goja turns
// back into the exception.
func callJS(f goja.Callable, args ...goja.Value) goja.Value {
	v, err := f(goja.Undefined(), args...)
	if err != nil {
		panic(err)
	}
	return v
}

func initCache(rt *goja.Runtime, call goja.ConstructorCall) {
	allocate := optionalFunc(rt, "Cache", call, 0)
	free := optionalFunc(rt, "Cache", call, 1)
	c := new(Cache[Key, cacheItem])
	jsfunc.Method(rt, call.This, "get", 1, func(fc goja.FunctionCall) goja.Value {
		key := fc.Argument(0)
		k := KeyOf(key)
		if it, ok := c.Get(k); ok {
			return it.val
		}
		if allocate == nil {
			return goja.Undefined()
		}
		v := callJS(allocate, key)
		if v == nil {
			v = goja.Undefined()
		}
		c.Set(k, cacheItem{key: key, val: v})
		return v
	})
	jsfunc.Method(rt, call.This, "clear", 0, func(goja.FunctionCall) goja.Value {
		var f func(Key, cacheItem)
		if free != nil {
			f = func(_ Key, it cacheItem) { callJS(free, it.key, it.val) }
		}
		c.Clear(f)
		return goja.Undefined()
	})
}
