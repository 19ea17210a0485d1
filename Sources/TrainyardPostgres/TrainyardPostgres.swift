// The PostgreSQL backend of the MetadataStore port (work in progress: issue 12).
import TrainyardCore
