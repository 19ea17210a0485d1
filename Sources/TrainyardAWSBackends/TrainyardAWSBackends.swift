// The AWS backends of Trainyard's ports: S3 artifacts, s3:// data, SQS messages (work in progress: issue 12).
import TrainyardCore
