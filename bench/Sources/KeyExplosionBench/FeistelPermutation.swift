/// SplitMix64's finaliser: a cheap, well-mixed hash of a 64-bit number.
enum SplitMix {
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A pseudo-random permutation of 0..<size: a four-round Feistel network over the smallest
/// even number of bits that covers `size`, walking the cycle until the value falls in range.
struct FeistelPermutation {
    let size: Int
    let halfBits: Int
    let seed: UInt64

    init(size: Int, seed: UInt64) {
        precondition(size > 0)
        var bits = 2
        while (1 << bits) < size { bits += 1 }
        if bits % 2 == 1 { bits += 1 }
        self.size = size
        halfBits = bits / 2
        self.seed = seed
    }

    func apply(_ index: Int) -> Int {
        var value = UInt64(index)
        repeat { value = round(value) } while value >= UInt64(size)
        return Int(value)
    }

    private func round(_ value: UInt64) -> UInt64 {
        let mask: UInt64 = (1 << UInt64(halfBits)) - 1
        var left = value >> UInt64(halfBits)
        var right = value & mask
        for step in 0..<4 {
            let mixed = SplitMix.mix(right ^ (seed &+ UInt64(step) &* 0x1000_0001)) & mask
            (left, right) = (right, left ^ mixed)
        }
        return (left << UInt64(halfBits)) | right
    }
}
