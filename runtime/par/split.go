package par

import "github.com/nngen/nngen/runtime/vec"

// Split returns the i-th of parts contiguous ranges that cover [0, n) in
// order, [lo, hi): the first n%parts ranges hold n/parts+1 elements and the
// others n/parts, so sizes differ by one at most and some ranges are empty
// when parts > n. The ranges depend on n, parts and i only: a worker can
// compute its own without talking to the others.
func Split(n, parts, i int) (lo, hi int) {
	if n < 0 || parts < 1 || i < 0 || i >= parts {
		panic("par: Split needs n ≥ 0 and 0 ≤ i < parts")
	}
	q, r := n/parts, n%parts
	lo = i*q + min(i, r)
	hi = lo + q
	if i < r {
		hi++
	}
	return lo, hi
}

// sumBlock is how many elements Sum adds through the whole tree at a time,
// so that the partial sums stay in the L1 cache.
const sumBlock = 512

// Sum sets dst[j] to the sum of parts[s][j] over all s, for every j in
// [lo, hi), adding in a fixed tree that depends only on len(parts): for
// stride = 1, 2, 4, … while stride < len(parts), parts[s][j] +=
// parts[s+stride][j] for s = 0, 2·stride, 4·stride, … with s+stride <
// len(parts); then dst[j] = parts[0][j]. With 8 parts that is
// ((p0+p1)+(p2+p3))+((p4+p5)+(p6+p7)); with 3, (p0+p1)+p2. Each element's
// sum is the same bit for bit whichever range it is part of, so workers may
// sum disjoint ranges (Split of len(dst)) in parallel. Sum overwrites
// parts[s][lo:hi] with partial sums (dst may be parts[0]); with no parts it
// zeroes dst[lo:hi].
func Sum[T float32 | float64](dst []T, parts [][]T, lo, hi int) {
	if len(parts) == 0 {
		clear(dst[lo:hi])
		return
	}
	for b := lo; b < hi; b += sumBlock {
		e := min(b+sumBlock, hi)
		for stride := 1; stride < len(parts); stride *= 2 {
			for s := 0; s+stride < len(parts); s += 2 * stride {
				vec.Add(parts[s][b:e], parts[s+stride][b:e])
			}
		}
		copy(dst[b:e], parts[0][b:e])
	}
}
