#if canImport(Glibc)
    internal import Glibc
#elseif canImport(Darwin)
    internal import Darwin
#endif

/// Validates bags kept as directories.
public enum BagItValidator {
    /// The largest tag file the validator reads whole (bagit.txt, bag-info.txt, fetch.txt, the manifests).
    static let maximumReadSize = 512 * 1024 * 1024

    /// Validates the bag rooted at `directory`: reads its tag files, then hashes each payload file as a stream.
    ///
    /// Payload files are hashed with ``BagItChecker/algorithmsNeeded`` only, so each is read once.
    ///
    /// Symbolic links and special files in the bag are errors and are never followed or opened. The
    /// result is empty for a valid bag without irregularities; a bag is valid when no problem in it
    /// has the `error` severity.
    public static func validate(directory: String) -> [BagItProblem] {
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            return [.error(nil, "the bag's directory does not exist or is not a directory")]
        }
        var walk = Walk(root: directory)
        walk.run()
        var problems = walk.problems
        if !walk.directories.contains("data") {
            problems.append(.error("data", "is missing; every bag must have a data directory"))
        }

        var checker = BagItChecker()
        let tagFiles = walk.files.filter { !$0.hasPrefix("data/") }
        let payloadFiles = walk.files.filter { $0.hasPrefix("data/") }
        for path in tagFiles where TagFileKind(path).isRead {
            switch readWhole(walk.root + "/" + path) {
            case .success(let bytes): checker.addTagFile(path: path, bytes: bytes)
            case .failure(let failure): problems.append(.error(path, failure.message))
            }
        }
        for path in tagFiles where !TagFileKind(path).isRead {
            switch hash(walk.root + "/" + path, checker.algorithmsNeeded) {
            case .success(let (size, digests)): checker.addTagFile(path: path, size: size, digests: digests)
            case .failure(let failure): problems.append(.error(path, failure.message))
            }
        }
        for path in payloadFiles {
            switch hash(walk.root + "/" + path, checker.algorithmsNeeded) {
            case .success(let (size, digests)): checker.addPayloadFile(path: path, size: size, digests: digests)
            case .failure(let failure): problems.append(.error(path, failure.message))
            }
        }
        return problems + checker.finish()
    }

    /// Why a file could not be read, without the file's contents.
    struct ReadFailure: Error {
        let message: String
    }

    /// Lists a bag's files and directories without following symbolic links.
    struct Walk {
        let root: String
        /// Regular files, relative to the root, sorted by their bytes.
        var files: [String] = []
        /// Directories, relative to the root.
        var directories: Set<String> = []
        var problems: [BagItProblem] = []

        init(root: String) {
            self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        }

        mutating func run() {
            var pending = [""]
            while let relative = pending.popLast() {
                let absolute = relative.isEmpty ? root : root + "/" + relative
                guard let stream = opendir(absolute) else {
                    problems.append(.error(relative.isEmpty ? nil : relative, "is a directory that cannot be read"))
                    continue
                }
                defer { closedir(stream) }
                while let entry = readdir(stream) {
                    let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        Array(raw.prefix { $0 != 0 })
                    }
                    if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
                    let lossy = String(decoding: bytes, as: UTF8.self)
                    let path = relative.isEmpty ? lossy : relative + "/" + lossy
                    guard String(validating: bytes, as: UTF8.self) != nil else {
                        problems.append(.error(path, "has a name that is not UTF-8"))
                        continue
                    }
                    var info = stat()
                    guard lstat(root + "/" + path, &info) == 0 else {
                        problems.append(.error(path, "cannot be examined"))
                        continue
                    }
                    switch info.st_mode & S_IFMT {
                    case S_IFDIR:
                        directories.insert(path)
                        pending.append(path)
                    case S_IFREG:
                        files.append(path)
                    case S_IFLNK:
                        problems.append(.error(path, "is a symbolic link; a bag holds only files and directories"))
                    default:
                        problems.append(.error(path, "is neither a file nor a directory"))
                    }
                }
            }
            files.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }
    }

    /// Calls `body` with each block of the regular file at `path`.
    private static func stream(
        _ path: String, _ body: (UnsafeRawBufferPointer) throws(ReadFailure) -> Void
    ) -> Result<Int64, ReadFailure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return .failure(ReadFailure(message: "cannot be opened")) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            return .failure(ReadFailure(message: "is not a regular file"))
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(ReadFailure(message: "cannot be read"))
            }
            if count == 0 { return .success(total) }
            total += Int64(count)
            do {
                try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The whole file, up to ``maximumReadSize``.
    static func readWhole(_ path: String) -> Result<[UInt8], ReadFailure> {
        var bytes: [UInt8] = []
        let result = stream(path) { (block) throws(ReadFailure) in
            guard bytes.count + block.count <= maximumReadSize else {
                throw ReadFailure(message: "is too large to read (more than \(maximumReadSize >> 20) MiB)")
            }
            bytes.append(contentsOf: block)
        }
        return result.map { _ in bytes }
    }

    /// The file's size and digests.
    static func hash(
        _ path: String, _ algorithms: Set<BagItAlgorithm>
    ) -> Result<(Int64, [BagItAlgorithm: String]), ReadFailure> {
        var hasher = BagItHasher(algorithms)
        return stream(path) { hasher.update($0) }.map { ($0, hasher.finalize()) }
    }
}
