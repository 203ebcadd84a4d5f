package algo

// hashMask keeps 53 bits so that every hash is exactly representable as a
// JavaScript number (Number.MAX_SAFE_INTEGER is 2^53-1).
const hashMask = 1<<53 - 1

// FNV-1a 64-bit parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Hash returns the 64-bit FNV-1a hash of s masked to its low 53 bits: a
// non-negative integer below 2^53 that depends only on s (stable across
// processes and runs). algo.hash(value) is Hash(String(value)), and
// [Hashing] uses it to pick targets.
func Hash(s string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h & hashMask
}
