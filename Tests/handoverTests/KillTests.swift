import Foundation
import HandoverBundle
import TestSupport
import Testing

@Suite struct KillTests {
    @Test func anExportKilledAtAnyMomentLeavesNothingUnderAFinalName() async throws {
        try await withTemporaryDirectory { folder in
            let demo = try handover("demo", "--out", folder + "/db", "--scale", "25", "--json")
            #expect(demo.status == 0, "\(demo.stderr)")
            let out = folder + "/out"
            try Data("a test key of thirty-two bytes!!".utf8).write(to: URL(fileURLWithPath: folder + "/key"))
            let arguments = [
                "export", "--db", folder + "/db/demo.sqlite", "--map", folder + "/db/demo-map.yaml", "--tenant", "1",
                "--out", out, "--archive", "tgz", "--pseudonym-key-file", folder + "/key",
            ]
            // How long an uninterrupted export takes, to spread the kills over it.
            let started = Date()
            let full = try run(handoverBinary, arguments + ["--request-id", "req-full"])
            #expect(full.status == 0, "\(full.stderr)")
            let duration = Date().timeIntervalSince(started)

            // One kill at once, before the export can have started; the others once its working folder
            // exists (so they land mid-export whatever the machine's load), at spread-out delays after that.
            let delays: [Double?] = [nil, 0, 0.05, 0.15, 0.3, 0.5, 0.7, 0.9]
            var killedMidExport = 0
            for (index, delay) in delays.enumerated() {
                let before = Set(listFolder(out).filter { $0.hasPrefix(".handover-partial-") })
                let process = Process()
                process.executableURL = URL(fileURLWithPath: handoverBinary)
                process.arguments = arguments + ["--request-id", "req-kill-\(index)"]
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                try process.run()
                if let delay {
                    let deadline = Date().addingTimeInterval(30)
                    while process.isRunning, Date() < deadline,
                        Set(listFolder(out).filter { $0.hasPrefix(".handover-partial-") }).subtracting(before).isEmpty
                    {
                        usleep(2_000)
                    }
                    usleep(useconds_t(duration * delay * 1_000_000))
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                let final = out + "/handover-req-kill-\(index).tar.gz"
                if FileManager.default.fileExists(atPath: final) {
                    // It finished before the kill: then it must be whole.
                    #expect(BundleVerifier.verify(archive: final).valid, "a killed export left a broken \(final)")
                } else if listFolder(out).contains(where: {
                    $0.hasPrefix(".handover-partial-\(process.processIdentifier)-")
                }) {
                    // Killed mid-export: only its temporary files remain (the next export removes them).
                    killedMidExport += 1
                }
            }
            #expect(killedMidExport >= 2, "only \(killedMidExport) kills landed mid-export")
            // The next run removes what the killed ones left, and nothing else.
            let next = try run(handoverBinary, arguments + ["--request-id", "req-next"])
            #expect(next.status == 0, "\(next.stderr)")
            #expect(listFolder(out).allSatisfy { !$0.hasPrefix(".handover-partial-") }, "\(listFolder(out))")
            #expect(listFolder(out).contains("handover-req-full.tar.gz"))
            #expect(BundleVerifier.verify(archive: out + "/handover-req-next.tar.gz").valid)
        }
    }
}
