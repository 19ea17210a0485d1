// Cases from the newer "aws-signing-test-suite" that AWS keeps with its own signers, for what the
// 2015 suite does not cover: a session token in a header, an S3-style (unnormalised) path, a `+`
// in a query, and presigned (query-string) requests. Same credentials, region, service and date
// as SigV4TestSuite.
//   - awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/<case>/ (AWS's C signing library):
//     header-signed-request.txt, query-canonical-request.txt, query-string-to-sign.txt,
//     query-signed-request.txt, context.json. The query files exist in two published versions:
//     commit e70d49e6f00bf019b129b34b7a8d6581fdde67fa (no X-Amz-Expires) and commit
//     b081db5425ea8fec2f29f942ef010fcf75442d01 (X-Amz-Expires=3600); each case names its commit.
//   - smithy-lang/smithy-rs, aws/rust-runtime/aws-sigv4/aws-signing-test-suite/v4/get-query-plus/
//     (AWS's Rust SDK signer), commit 18c964f85d33bd0349760c5a9e767cde340a856f.
// Requests are the signed request files with the lines the signer adds (Authorization, and for
// presigned cases the X-Amz-* query parameters) taken out; expected values are verbatim.

import TrainyardAWS

enum AWSSigningTestSuite {
    /// get-vanilla-with-session-token/context.json: credentials.token.
    static let sessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

    static let headerVectors: [SigV4SuiteVector] = [
        SigV4SuiteVector(
            name: "get-vanilla-with-session-token",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"#,
            sessionToken: sessionToken,
            source: "aws-c-auth get-vanilla-with-session-token/header-signed-request.txt (commit 4ec99f28fa66f8a308609dfc6020936c24edaaf2)"),
        SigV4SuiteVector(
            name: "get-slashes-unnormalized",
            request: #"""
GET //example// HTTP/1.1
Host:example.amazonaws.com
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"#,
            pathStyle: .s3,
            source: "aws-c-auth get-slashes-unnormalized/header-signed-request.txt (commit 4ec99f28fa66f8a308609dfc6020936c24edaaf2); the suite's 'unnormalized' cases are the S3 rule"),
        SigV4SuiteVector(
            name: "get-query-plus",
            request: #"""
GET /?c+d HTTP/1.1
Host:example.amazonaws.com
"""#,
            // The published file ends with a newline after the payload hash; the canonical request
            // itself does not (the string to sign below is the hash of the text without it).
            canonicalRequest: #"""
GET
/
c%2Bd=
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
4e8aace1e2037a6225f205f9cd633a67261068dede07745be24ece98db91f8eb
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ae684ce3aadc299e3ac7d9216fcc039c7edf40dea57cf5b3005821dd2f176654"#,
            source: "smithy-rs get-query-plus/{request,header-canonical-request,header-string-to-sign,header-signed-request}.txt"),
    ]

    static let presignVectors: [SigV4PresignVector] = [
        SigV4PresignVector(
            name: "get-vanilla-query-order-key-case (no expiry)",
            request: #"""
GET /?Param2=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: nil,
            canonicalRequest: #"""
GET
/
Param1=value1&Param2=value2&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host
host:example.amazonaws.com

host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
eb1512f5ed1470925b7b1072c2108953680032d6bc3ccbef8eb7c6fdf1639827
"""#,
            signature: "99fe619ddc7883a0738f7e90dc36a30badef2b551412ad283fd7338128bc73ac",
            source: "aws-c-auth get-vanilla-query-order-key-case/query-{canonical-request,string-to-sign,signed-request}.txt at e70d49e"),
        SigV4PresignVector(
            name: "get-utf8 (no expiry)",
            request: #"""
GET /ሴ HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: nil,
            canonicalRequest: #"""
GET
/%E1%88%B4
X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host
host:example.amazonaws.com

host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
4148d48eedde44fc6b52c92dcab505640ab9350b6ac42891703d9e3575b770ab
"""#,
            signature: "4d600c0c344da828bbb1a71b2174e7be3c95d726293e6c4979fd5816730dd99d",
            source: "aws-c-auth get-utf8/query-{canonical-request,string-to-sign,signed-request}.txt at e70d49e"),
        SigV4PresignVector(
            name: "get-header-value-trim (no expiry)",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1: value1
My-Header2: "a   b   c"
"""#,
            expiresIn: nil,
            canonicalRequest: #"""
GET
/
X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2
host:example.amazonaws.com
my-header1:value1
my-header2:"a b c"

host;my-header1;my-header2
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
79b6cafb02b93e8b4cfc53cbf6dcf562477c321fe4af691f077f9213ad23876e
"""#,
            signature: "437aef474be68d1c09b56053015ccaf0a10518a70bc04b7f76260f98b0ab3c56",
            source: "aws-c-auth get-header-value-trim/query-{canonical-request,string-to-sign,signed-request}.txt at e70d49e"),
        SigV4PresignVector(
            name: "get-slashes-unnormalized (no expiry, S3 path rule)",
            request: #"""
GET //example// HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: nil,
            canonicalRequest: #"""
GET
//example//
X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host
host:example.amazonaws.com

host
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
14168dc49bb367458c443a48b02631d9ba1fab52ba52fb1ef385ab0eb4658964
"""#,
            signature: "ed7e25d3f04cd9dfc648c40ce5d9a03022f9047038a4c0273ed32db6d805e820",
            pathStyle: .s3,
            source: "aws-c-auth get-slashes-unnormalized/query-{canonical-request,string-to-sign,signed-request}.txt at e70d49e"),
        SigV4PresignVector(
            name: "get-vanilla-query-order-key-case (3600 s)",
            request: #"""
GET /?Param2=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: 3600,
            signature: "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5",
            source: "aws-c-auth get-vanilla-query-order-key-case/query-signed-request.txt at b081db5"),
        SigV4PresignVector(
            name: "get-utf8 (3600 s)",
            request: #"""
GET /ሴ HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: 3600,
            signature: "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44",
            source: "aws-c-auth get-utf8/query-signed-request.txt at b081db5"),
        SigV4PresignVector(
            name: "get-header-value-trim (3600 s)",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1: value1
My-Header2: "a   b   c"
"""#,
            expiresIn: 3600,
            signature: "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4",
            source: "aws-c-auth get-header-value-trim/query-signed-request.txt at b081db5"),
        SigV4PresignVector(
            name: "post-vanilla (3600 s)",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
"""#,
            expiresIn: 3600,
            signature: "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b",
            source: "aws-c-auth post-vanilla/query-signed-request.txt at b081db5"),
    ]
}
