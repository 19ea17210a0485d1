// AWS's "Signature Version 4 test suite" (aws-sig-v4-test-suite, "Copyright 2017 Amazon.com, Inc. or
// its affiliates"), published at https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html.
// The files were read from the copy AWS's suite has in bazelbuild/bazel, folder
// third_party/aws-sig-v4-test-suite/ (case folder / case.req, .creq, .sts, .authz, .sreq), unless a
// case says otherwise. Every case: credentials AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
// region us-east-1, service "service", signed at 20150830T123600Z.
//
// The file contents below are verbatim; only the line structure of Swift literals was added.

enum SigV4TestSuite {
    static let accessKeyID = "AKIDEXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let region = "us-east-1"
    static let service = "service"
    /// The suite's X-Amz-Date, as an ISO 8601 instant for `ISO8601DateFormatter`.
    static let signingInstant = "2015-08-30T12:36:00Z"

    /// post-sts-token/readme.txt: "The test suite uses this example value for X-Amz-Security-Token".
    static let sessionToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    static let vectors: [SigV4SuiteVector] = [
        SigV4SuiteVector(
            name: "get-vanilla",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "get-vanilla/get-vanilla.req; authorization from the suite fixture of AWS's JavaScript SDK (@aws-sdk/signature-v4 suite.fixture.js, case get-vanilla) and get-vanilla-query/get-vanilla-query.sreq, the same request"),
        SigV4SuiteVector(
            name: "get-vanilla-query",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "get-vanilla-query/get-vanilla-query.sreq"),
        SigV4SuiteVector(
            name: "get-vanilla-empty-query-key",
            request: #"""
GET /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"#,
            source: "get-vanilla-empty-query-key/get-vanilla-empty-query-key.sreq"),
        SigV4SuiteVector(
            name: "get-vanilla-query-order-key",
            request: #"""
GET /?Param1=value2&Param1=Value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=Value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"#,
            source: "get-vanilla-query-order-key/get-vanilla-query-order-key.{req,creq,sts,authz}"),
        SigV4SuiteVector(
            name: "get-vanilla-query-order-value",
            request: #"""
GET /?Param1=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/
Param1=value1&Param1=value2
host:example.amazonaws.com
x-amz-date:20150830T123600Z

host;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"#,
            source: "get-vanilla-query-order-value/get-vanilla-query-order-value.{req,creq,sts,authz}"),
        SigV4SuiteVector(
            name: "get-vanilla-query-order-key-case",
            request: #"""
GET /?Param2=value2&Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"#,
            source: "get-vanilla-query-order-key-case/get-vanilla-query-order-key-case.{req,authz}"),
        SigV4SuiteVector(
            name: "get-vanilla-query-unreserved",
            request: #"""
GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"#,
            source: "get-vanilla-query-unreserved/get-vanilla-query-unreserved.{req,authz}"),
        SigV4SuiteVector(
            name: "get-vanilla-utf8-query",
            request: #"""
GET /?ሴ=bar HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"#,
            source: "get-vanilla-utf8-query/get-vanilla-utf8-query.{req,authz}"),
        SigV4SuiteVector(
            name: "get-unreserved",
            request: #"""
GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"#,
            source: "get-unreserved/get-unreserved.sreq"),
        SigV4SuiteVector(
            name: "get-utf8",
            request: #"""
GET /ሴ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"#,
            source: "get-utf8/get-utf8.{req,authz}"),
        SigV4SuiteVector(
            name: "normalize-path/get-space",
            request: #"""
GET /example space/ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"#,
            source: "normalize-path/get-space/get-space.{req,authz}"),
        SigV4SuiteVector(
            name: "normalize-path/get-slash",
            request: #"""
GET // HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "normalize-path/get-slash/get-slash.sreq"),
        SigV4SuiteVector(
            name: "normalize-path/get-slash-dot-slash",
            request: #"""
GET /./ HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "normalize-path/get-slash-dot-slash/get-slash-dot-slash.{req,authz}"),
        SigV4SuiteVector(
            name: "normalize-path/get-slash-pointless-dot",
            request: #"""
GET /./example HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"#,
            source: "normalize-path/get-slash-pointless-dot/get-slash-pointless-dot.{req,authz}"),
        SigV4SuiteVector(
            name: "normalize-path/get-slashes",
            request: #"""
GET //example// HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"#,
            source: "normalize-path/get-slashes/get-slashes.{req,authz}"),
        SigV4SuiteVector(
            name: "normalize-path/get-relative",
            request: #"""
GET /example/.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "normalize-path/get-relative/get-relative.sreq"),
        SigV4SuiteVector(
            name: "normalize-path/get-relative-relative",
            request: #"""
GET /example1/example2/../.. HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"#,
            source: "normalize-path/get-relative-relative/get-relative-relative.sreq"),
        SigV4SuiteVector(
            name: "get-header-key-duplicate",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value2
My-Header1:value2
My-Header1:value1
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"#,
            source: "get-header-key-duplicate/get-header-key-duplicate.{req,authz}"),
        SigV4SuiteVector(
            name: "get-header-value-multiline",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
  value2
     value3
X-Amz-Date:20150830T123600Z
"""#,
            canonicalRequest: #"""
GET
/

host:example.amazonaws.com
my-header1:value1,value2,value3
x-amz-date:20150830T123600Z

host;my-header1;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
b7b6cbfd8a0430b78891e986784da2630c8a135a8595cec25b26ea94f926ee55
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=ba17b383a53190154eb5fa66a1b836cc297cc0a3d70a5d00705980573d8ff790"#,
            source: "get-header-value-multiline/get-header-value-multiline.{req,creq,sts,authz}"),
        SigV4SuiteVector(
            name: "get-header-value-order",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value4
My-Header1:value1
My-Header1:value3
My-Header1:value2
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"#,
            source: "get-header-value-order/get-header-value-order.{req,authz}"),
        SigV4SuiteVector(
            name: "get-header-value-trim",
            request: #"""
GET / HTTP/1.1
Host:example.amazonaws.com
My-Header1: value1
My-Header2: "a   b   c"
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"#,
            source: "get-header-value-trim/get-header-value-trim.{req,authz}"),
        SigV4SuiteVector(
            name: "post-vanilla",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"#,
            source: "post-vanilla/post-vanilla.{req,authz}"),
        SigV4SuiteVector(
            name: "post-vanilla-query",
            request: #"""
POST /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"#,
            source: "not in the bazel copy; awslabs/aws-c-auth tests/aws-signing-test-suite/v4/post-vanilla-query/header-signed-request.txt (AWS's C signing library, same credentials and date), request and Authorization line; the same authorization is in the suite fixture of AWS's JavaScript SDK (case post-vanilla-query)"),
        SigV4SuiteVector(
            name: "post-vanilla-empty-query-value",
            request: #"""
POST /?Param1=value1 HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"#,
            source: "post-vanilla-empty-query-value/post-vanilla-empty-query-value.sreq"),
        SigV4SuiteVector(
            name: "post-header-key-sort",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:value1
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"#,
            source: "post-header-key-sort/post-header-key-sort.sreq"),
        SigV4SuiteVector(
            name: "post-header-value-case",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
My-Header1:VALUE1
X-Amz-Date:20150830T123600Z
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"#,
            source: "post-header-value-case/post-header-value-case.sreq"),
        SigV4SuiteVector(
            name: "post-x-www-form-urlencoded",
            request: #"""
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"#,
            source: "post-x-www-form-urlencoded/post-x-www-form-urlencoded.{req,creq,sts,authz}"),
        SigV4SuiteVector(
            name: "post-x-www-form-urlencoded-parameters",
            request: #"""
POST / HTTP/1.1
Content-Type:application/x-www-form-urlencoded; charset=utf8
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z

Param1=value1
"""#,
            canonicalRequest: #"""
POST
/

content-type:application/x-www-form-urlencoded; charset=utf8
host:example.amazonaws.com
x-amz-date:20150830T123600Z

content-type;host;x-amz-date
9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
"""#,
            stringToSign: #"""
AWS4-HMAC-SHA256
20150830T123600Z
20150830/us-east-1/service/aws4_request
2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"#,
            source: "post-x-www-form-urlencoded-parameters/post-x-www-form-urlencoded-parameters.{req,creq,sts,authz}"),
        SigV4SuiteVector(
            name: "post-sts-token/post-sts-header-before",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"#,
            sessionToken: sessionToken,
            source: "post-sts-token/post-sts-header-before/post-sts-header-before.{req,authz}"),
        SigV4SuiteVector(
            name: "post-sts-token/post-sts-header-after",
            request: #"""
POST / HTTP/1.1
Host:example.amazonaws.com
X-Amz-Date:20150830T123600Z
X-Amz-Security-Token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==
"""#,
            authorization: #"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"#,
            sessionToken: sessionToken,
            signsSessionToken: false,
            source: "post-sts-token/post-sts-header-after/post-sts-header-after.sreq (\"The X-Amz-Security-Token header is added to the request after you calculate the signature\")"),
    ]
}
