/// Sebastiano Vigna's SplitMix64: a small, fast, seedable generator whose whole sequence
/// follows from its seed, so that a report's bootstrap can be reproduced (and checked from
/// Python with the same dozen lines, as the test fixtures are).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
