import Foundation
import HandoverAge
import HandoverBundle
import HandoverCore
import HandoverDemo
import HandoverMinisign
import HandoverSQL
import HandoverStore
import HandoverWorker
import TestSupport
import Testing

/// A worker that encrypts cannot open what it published: it recognises its own sealed bundle by its signature.
@Suite struct SealedAdoptionTests {
    func sealedFulfiller(_ folder: String, key: MinisignSecretKey?) throws -> BundleFulfiller {
        let map = try DatasetMap(yaml: SalesDemo.datasetMap, source: "demo-map.yaml")
        var options = BundleOptions(outputDirectory: folder, formats: [.json])
        options.pseudonymizer = testPseudonymizer
        options.recipients = [AgeIdentity.generate().recipient]
        options.signingKey = key
        return BundleFulfiller(options: options, logger: quietLogger) { _ in
            try ExporterRegistry([try DatasetMapExporter(map: map, databasePath: demoDatabase)])
        }
    }

    @Test func anEncryptedBundleIsAdoptedOnlyWhenThisInstallationSignedItForThisRequest() async throws {
        try await withStore(.memory) { store, _ in
            try await withTemporaryDirectory { out in
                try await submitDemoRequests(store, [("req-s", "user2@acme.example"), ("req-t", "user3@acme.example")])
                let key = MinisignSecretKey.generate()
                let fulfiller = try sealedFulfiller(out, key: key)
                let stored = try #require(try await store.request(try RequestID("req-s")))
                let path = try await fulfiller.fulfil(stored)
                #expect(path.hasSuffix("/handover-req-s.zip.age"))
                let before = try Data(contentsOf: URL(fileURLWithPath: path))
                // Again, as a successor whose predecessor published and died: the same file, adopted.
                #expect(try await fulfiller.fulfil(stored) == path)
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)

                // Another installation's key, or no key: it cannot tell, and leaves the file alone.
                for other in [
                    try sealedFulfiller(out, key: MinisignSecretKey.generate()), try sealedFulfiller(out, key: nil),
                ] {
                    let error = await #expect(throws: HandoverError.self) { try await other.fulfil(stored) }
                    #expect(error?.code == .outputExists)
                    #expect(error?.message.contains("is encrypted") == true)
                }
                // req-s's sealed file under req-t's name: signed for another request.
                let impostor = out + "/handover-req-t.zip.age"
                try FileManager.default.copyItem(atPath: path, toPath: impostor)
                try FileManager.default.copyItem(atPath: path + ".minisig", toPath: impostor + ".minisig")
                let other = try #require(try await store.request(try RequestID("req-t")))
                await #expect(throws: HandoverError.self) { try await fulfiller.fulfil(other) }
                #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
            }
        }
    }

    @Test func aSealedArchiveIsDeliveredAndPurgedWithItsSignature() async throws {
        try await withStore(.memory) { store, _ in
            try await withTemporaryDirectory { out in
                try await submitDemoRequests(store, [("req-u", "user2@acme.example")])
                let worker = RequestWorker(
                    store: store, fulfiller: try sealedFulfiller(out, key: MinisignSecretKey.generate()),
                    configuration: WorkerConfiguration(id: "w1", retentionSeconds: 60), logger: quietLogger)
                await worker.run(untilIdle: true)
                let stored = try #require(try await store.request(try RequestID("req-u")))
                #expect(stored.state == .completed)
                let archive = try #require(stored.archive)
                // What delivery lists: the archive and its detached signature.
                #expect(
                    try ArchiveFile.describe(published: archive).map(\.name)
                        == ["handover-req-u.zip.age", "handover-req-u.zip.age.minisig"])
                #expect(listFolder(out) == ["handover-req-u.zip.age", "handover-req-u.zip.age.minisig"])
                let purged = try await store.purgeExpired(actor: "test", at: Timestamp.now().adding(seconds: 3_600))
                #expect(purged.map(\.result) == [.deleted])
                #expect(listFolder(out).isEmpty, "the signature goes with its archive")
            }
        }
    }
}
