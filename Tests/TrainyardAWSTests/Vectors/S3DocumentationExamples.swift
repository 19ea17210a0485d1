// The worked examples of the Amazon S3 API Reference:
//   - "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk
//     (AWS Signature Version 4)", section "Examples: Signature Calculations",
//     https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
//     (GET Object with Range, PUT Object, GET Bucket Lifecycle, Get Bucket (List Objects)).
//   - "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", section
//     "An Example", https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
//     (a presigned GET of test.txt valid for 86400 s).
// Credentials AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, region us-east-1,
// service s3, signed at 20130524T000000Z. The search index returned only the head of those pages,
// so the example sections were read from verbatim copies: the header examples from
// ForeverPyrite/r2client aws_sigv4/examples.md (commit a3176b6760e19202b9bed704b2a411dcf9a11dd6),
// the presigned example's canonical request, string to sign and signature from the tests of the
// fastenv project (which quote that page) and several independent signers' tests citing it.
//
// The documentation writes the Authorization header with "," between its parts and no space; the
// signer writes ", " as the 2015 suite does. AWS accepts both, so the tests compare the header with
// the space removed after each comma.

import Testing
import TrainyardAWS

enum S3DocumentationExamples {
    static let accessKeyID = "AKIAIOSFODNN7EXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let region = "us-east-1"
    static let signingInstant = "2013-05-24T00:00:00Z"

    struct Example: Sendable, CustomTestStringConvertible {
        let name: String
        let method: String
        let path: String
        let query: String
        /// The request's headers as the page lists them, minus `Authorization:
        /// SignatureToBeCalculated` and the `x-amz-date` / `x-amz-content-sha256` lines the
        /// signer writes itself (their values are the date and payload given to the signer).
        let headers: [HTTPField]
        /// The body whose hash the page signs.
        let body: String
        let canonicalRequest: String
        let stringToSign: String
        let signature: String
        let authorization: String

        var testDescription: String { name }
    }

    static let examples: [Example] = [
        Example(
            name: "GET Object (first 10 bytes of test.txt)",
            method: "GET", path: "/test.txt", query: "",
            headers: [HTTPField("Host", "examplebucket.s3.amazonaws.com"), HTTPField("Range", "bytes=0-9")],
            body: "",
            canonicalRequest: #"""
GET
/test.txt

host:examplebucket.s3.amazonaws.com
range:bytes=0-9
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:20130524T000000Z

host;range;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
"""#,
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        Example(
            // The page's request line reads "PUT test$file.text"; the object is /test$file.text.
            name: "PUT Object (test$file.text, REDUCED_REDUNDANCY)",
            method: "PUT", path: "/test$file.text", query: "",
            headers: [HTTPField("Host", "examplebucket.s3.amazonaws.com"), HTTPField("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                      HTTPField("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            body: "Welcome to Amazon S3.",
            canonicalRequest: #"""
PUT
/test%24file.text

date:Fri, 24 May 2013 00:00:00 GMT
host:examplebucket.s3.amazonaws.com
x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
x-amz-date:20130524T000000Z
x-amz-storage-class:REDUCED_REDUNDANCY

date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d
"""#,
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"),
        Example(
            name: "GET Bucket Lifecycle (?lifecycle)",
            method: "GET", path: "/", query: "lifecycle",
            headers: [HTTPField("Host", "examplebucket.s3.amazonaws.com")],
            body: "",
            canonicalRequest: #"""
GET
/
lifecycle=
host:examplebucket.s3.amazonaws.com
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:20130524T000000Z

host;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca
"""#,
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        Example(
            name: "Get Bucket (List Objects, ?max-keys=2&prefix=J)",
            method: "GET", path: "/", query: "max-keys=2&prefix=J",
            headers: [HTTPField("Host", "examplebucket.s3.amazonaws.com")],
            body: "",
            canonicalRequest: #"""
GET
/
max-keys=2&prefix=J
host:examplebucket.s3.amazonaws.com
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:20130524T000000Z

host;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7
"""#,
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ]

    /// "An Example" of the query-parameter page: GET https://examplebucket.s3.amazonaws.com/test.txt,
    /// X-Amz-Expires=86400, payload UNSIGNED-PAYLOAD.
    enum Presigned {
        static let url = "https://examplebucket.s3.amazonaws.com/test.txt"
        static let expiresIn = 86400
        static let canonicalRequest = #"""
GET
/test.txt
X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host
host:examplebucket.s3.amazonaws.com

host
UNSIGNED-PAYLOAD
"""#
        static let stringToSign = #"""
AWS4-HMAC-SHA256
20130524T000000Z
20130524/us-east-1/s3/aws4_request
3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04
"""#
        static let signature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    }
}
