#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// The C.UTF-8 locale, created once; nil where the system has none.
nonisolated(unsafe) private let utf8Locale: locale_t? = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)

/// Runs `body` with this thread's character type locale set to UTF-8.
///
/// libarchive converts entry names through the current locale; under the C locale of a
/// service or a test runner it cannot convert UTF-8 names and drops them. `uselocale` changes
/// the calling thread only, so the process's locale stays as its owner set it. The body must
/// not suspend: the archive calls are synchronous, so they stay on one thread.
func withUTF8Locale<T>(_ body: () throws -> T) rethrows -> T {
    guard let utf8Locale else { return try body() }
    let previous = uselocale(utf8Locale)
    defer { uselocale(previous) }
    return try body()
}
