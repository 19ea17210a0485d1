import Foundation
import TrainyardAWS
import TrainyardCore

/// `publish(source, to: destination)` on S3, which has no rename and no multi-object
/// transaction. Exactly one publisher wins a destination, and nobody sees half of it:
///
/// 1. **Claim.** The winner is whoever creates the destination's claim object
///    (`.trainyard/publications/…/claims/{destination}.json`) with `If-None-Match: *`; every other
///    publisher gets HTTP 412 and `.occupied`. Objects already under the destination (written
///    without publishing) also mean `.occupied`.
/// 2. **Hide, copy.** The winner writes a pending marker (`…/pending/{destination}.json`), which
///    makes `list` leave the destination out, then copies every source object server-side.
/// 3. **Commit.** It swaps the claim to `published` (`If-Match` on the claim's ETag), removes the
///    pending marker, then deletes the source objects (and the source's own claim, when the
///    source was itself a published destination being set aside).
///
/// A publisher that dies mid-copy leaves a pending claim naming its source and keys: the next
/// publisher to the same destination finishes that copy (copies are idempotent) and gets
/// `.occupied`, or, if the dead publisher's source objects are gone (a retry cleared its
/// staging), marks the claim `abandoned`, removes the partial copies and claims the destination
/// itself. Each state change is a compare-and-swap on the claim's ETag, so two publishers
/// never both believe they won.
///
/// Requires S3 conditional writes (`If-None-Match`/`If-Match` on PutObject: AWS S3 since 2024,
/// MinIO, moto). A store that ignores the headers is caught in the common case by reading the
/// claim back after writing it (the loser finds the winner's token), but not in every
/// interleaving; such stores are only safe with one publisher per destination at a time, which
/// Trainyard's version fencing (one attempt holds a job's lease) already arranges. Readers that
/// fetch a key directly (not through `list`) are not kept from a destination being copied;
/// Trainyard registers a version only after `publish` returns, so none does.
extension S3ArtifactStore {
    public func publish(_ source: String, to destination: String) async throws -> PublicationOutcome {
        try ArtifactKeys.validatePrefix(source)
        try ArtifactKeys.validatePrefix(destination)
        guard !source.hasPrefix(destination), !destination.hasPrefix(source) else {
            throw TrainyardError(.invalidArgument, "cannot publish \(source) to \(destination): one lies inside the other")
        }
        let sourceKeys = try await listRaw(source)
        guard !sourceKeys.isEmpty else { throw TrainyardError.notFound("nothing to publish under \(source)") }
        let mine = S3PublicationClaim(token: UUID().uuidString, source: source,
                                      keys: sourceKeys.map { String($0.dropFirst(source.count)) }, state: .pending, claimedAt: Date())
        return try await translating(destination) {
            for _ in 0..<Self.maximumClaimRounds {
                switch try await claim(destination, for: mine) {
                case .claimed(let eTag):
                    return try await copyAndCommit(mine, to: destination, claimETag: eTag)
                case .occupied:
                    return .occupied
                case .changed:
                    continue
                }
            }
            throw TrainyardError(.unavailable, "could not claim \(destination) in \(location): its claim kept changing under concurrent publishers")
        }
    }

    /// Rounds of "read the claim, act on it" before giving up (each round sees a newer state).
    static var maximumClaimRounds: Int { 8 }

    enum ClaimOutcome {
        case claimed(eTag: String)
        case occupied
        /// The claim changed while we looked: read it again.
        case changed
    }

    func claimKey(_ destination: String) -> String { publicationsRoot + "claims/" + destination.dropLast() + ".json" }
    func pendingKey(_ destination: String) -> String { publicationsRoot + "pending/" + destination.dropLast() + ".json" }

    /// Destinations whose copy is under way (their pending marker exists).
    func destinationsBeingPublished() async throws -> [String] {
        let markers = publicationsRoot + "pending/"
        return try await translating("") {
            var destinations: [String] = []
            for try await page in s3.listPages(bucket: bucket, prefix: markers) {
                for object in page.objects where object.key.hasSuffix(".json") {
                    destinations.append(String(object.key.dropFirst(markers.count).dropLast(".json".count)) + "/")
                }
            }
            return destinations
        }
    }

    /// The destination's claim and its ETag, if there is one.
    func readClaim(_ destination: String) async throws -> (claim: S3PublicationClaim, eTag: String)? {
        let key = claimKey(destination)
        var body = Data()
        let read: S3ReadResult
        do {
            read = try await s3.getObject(bucket: bucket, key: key) { body.append($0) }
        } catch let error as AWSError where error.isNotFound {
            return nil
        }
        guard let eTag = read.head.eTag else {
            throw TrainyardError(.unavailable, "\(location) answered the claim \(key) without an ETag, so publications cannot be made safe")
        }
        return (try S3PublicationClaim.decode(body, at: key), eTag)
    }

    /// Writes a claim object under `condition`; `nil` when the condition did not hold.
    func writeClaim(_ claim: S3PublicationClaim, for destination: String, condition: S3WriteCondition) async throws -> String? {
        do {
            let written = try await s3.putObject(bucket: bucket, key: claimKey(destination), body: try claim.encoded(),
                                                 contentType: "application/json", condition: condition)
            return written.eTag
        } catch let error as AWSError where error.isPreconditionFailed || error.code == "ConditionalRequestConflict" {
            return nil
        }
    }

    /// One round of trying to own `destination`.
    func claim(_ destination: String, for mine: S3PublicationClaim) async throws -> ClaimOutcome {
        if let (existing, eTag) = try await readClaim(destination) {
            switch existing.state {
            case .published:
                return .occupied
            case .pending where existing.token == mine.token:
                // Our own earlier write, whose answer was lost and which a retry then found taken.
                return .claimed(eTag: eTag)
            case .pending:
                return try await finishOrAbandon(existing, eTag: eTag, at: destination)
            case .abandoned:
                guard try await listRaw(destination).isEmpty else { return .occupied }
                guard let taken = try await writeClaim(mine, for: destination, condition: .ifMatch(eTag: eTag)) else { return .changed }
                return .claimed(eTag: taken)
            }
        }
        guard try await listRaw(destination).isEmpty else { return .occupied }
        guard let eTag = try await writeClaim(mine, for: destination, condition: .ifAbsent) else { return .changed }
        // A store that ignored If-None-Match lets two writers "succeed": the claim holds the
        // last one's token, and the other backs off here.
        guard let (stored, storedETag) = try await readClaim(destination), stored.token == mine.token else { return .changed }
        return .claimed(eTag: storedETag == eTag ? eTag : storedETag)
    }

    /// Another publisher's pending claim: finish its copy if its source is still there
    /// (`.occupied`: the destination is theirs), or mark it abandoned and clear its partial
    /// copies (`.changed`: claim it in the next round).
    func finishOrAbandon(_ other: S3PublicationClaim, eTag: String, at destination: String) async throws -> ClaimOutcome {
        try await s3.putObject(bucket: bucket, key: pendingKey(destination), body: Data(other.token.utf8))
        let complete = try await copy(other, to: destination)
        if complete {
            if try await writeClaim(other.with(.published), for: destination, condition: .ifMatch(eTag: eTag)) != nil {
                logger.notice("finished the publication of a publisher that stopped mid-copy",
                              metadata: ["destination": "\(destination)", "source": "\(other.source)"])
                try await s3.deleteObject(bucket: bucket, key: pendingKey(destination))
                try await removeSource(of: other)
            }
            return .occupied
        }
        guard try await writeClaim(other.with(.abandoned), for: destination, condition: .ifMatch(eTag: eTag)) != nil else { return .changed }
        logger.notice("abandoned a publication whose source is gone; clearing its partial copy",
                      metadata: ["destination": "\(destination)", "source": "\(other.source)"])
        try await s3.deleteObjects(bucket: bucket, keys: other.keys.map { root + destination + $0 })
        try await s3.deleteObject(bucket: bucket, key: pendingKey(destination))
        return .changed
    }

    /// Copies what is still missing of `claim`'s keys to `destination`; `false` when a key is
    /// neither at the destination nor at the source any more.
    func copy(_ claim: S3PublicationClaim, to destination: String) async throws -> Bool {
        let present = Set(try await listRaw(destination).map { String($0.dropFirst(destination.count)) })
        let missing = claim.keys.filter { !present.contains($0) }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            var complete = true
            for key in missing {
                if inFlight >= copyConcurrency, let copied = try await group.next() {
                    complete = complete && copied
                    inFlight -= 1
                }
                group.addTask {
                    do {
                        try await s3.copyObject(sourceBucket: bucket, sourceKey: root + claim.source + key,
                                                bucket: bucket, key: root + destination + key)
                        return true
                    } catch let error as AWSError where error.isNotFound && error.code != "NoSuchBucket" {
                        return false
                    }
                }
                inFlight += 1
            }
            for try await copied in group { complete = complete && copied }
            return complete
        }
    }

    /// Ours won: hide, copy, commit, then remove the source.
    func copyAndCommit(_ mine: S3PublicationClaim, to destination: String, claimETag: String) async throws -> PublicationOutcome {
        try await s3.putObject(bucket: bucket, key: pendingKey(destination), body: Data(mine.token.utf8))
        let complete = try await copy(mine, to: destination)
        if complete, try await writeClaim(mine.with(.published), for: destination, condition: .ifMatch(eTag: claimETag)) != nil {
            try await s3.deleteObject(bucket: bucket, key: pendingKey(destination))
            try await removeSource(of: mine)
            return .published
        }
        // The claim changed under us: someone finished our copy (fine), or abandoned it
        // because our source vanished (then the destination is not ours).
        if let (current, _) = try await readClaim(destination), current.token == mine.token, current.state == .published {
            try await removeSource(of: mine)
            return .published
        }
        if !complete {
            // Our own source vanished mid-copy: nobody can finish this publication.
            if try await writeClaim(mine.with(.abandoned), for: destination, condition: .ifMatch(eTag: claimETag)) != nil {
                try await s3.deleteObjects(bucket: bucket, keys: mine.keys.map { root + destination + $0 })
                try await s3.deleteObject(bucket: bucket, key: pendingKey(destination))
            }
            throw TrainyardError(.conflict, "the objects under \(mine.source) disappeared while they were being published to \(destination)")
        }
        return .occupied
    }

    /// Deletes a published claim's source objects, and the source's own claim when the source
    /// was a published destination being moved away (so that it can be published again).
    func removeSource(of claim: S3PublicationClaim) async throws {
        let failures = try await s3.deleteObjects(bucket: bucket, keys: claim.keys.map { root + claim.source + $0 })
        if let failure = failures.first {
            throw TrainyardError(.unavailable, "published, but could not delete the source \(failure.key): \(failure.error)")
        }
        try await s3.deleteObject(bucket: bucket, key: claimKey(claim.source))
    }
}
