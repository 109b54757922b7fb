import type { INamespace, IType } from 'protobufjs';

/**
 * The Cloud Audit Logs message types as a protobufjs JSON descriptor, which the gRPC client's
 * undecoded `Any` protoPayloads of GKE audit entries are decoded with (adapters/gke/audit-log.ts).
 *
 * Copied because no installed package ships `google.cloud.audit.AuditLog` (checked December 2026):
 * - @google-cloud/logging 11.4.0 has no protos of its own; its API client @google-cloud/logging-api
 *   0.2.0 ships `google/logging/v2` and `google/logging/type` (protos.json: LogEntry, whose
 *   protoPayload is an `Any`, plus google.rpc.Status) and names AuditLog only in a comment;
 * - google-gax 5.0.8 (and the 4.6.1 under @google-cloud/logging) ships `google/rpc/status.proto`
 *   and `google/rpc/context/attribute_context.proto`, but no `google/cloud/audit`; it is not one
 *   of our dependencies either, only theirs, so loading its files would tie the decoder (and the
 *   Cloud Function bundle) to another package's file layout to save the two smallest parts;
 * - protobufjs 7.6.6 bundles the `google/protobuf` well-known types only (used below), and
 *   proto3-json-serializer 3.0.6 ships no descriptors.
 * Building the whole root from this copy takes about 10 ms and 0.4 MiB of heap, as much as parsing
 * google-gax's two .proto files alone: loading from a package would not be cheaper either.
 *
 * Field names, numbers and types follow the googleapis definitions (the wire contract):
 * https://github.com/googleapis/googleapis/blob/master/google/cloud/audit/audit_log.proto (AuditLog
 * and its parts), https://github.com/googleapis/googleapis/blob/master/google/rpc/status.proto and
 * https://github.com/googleapis/googleapis/blob/master/google/rpc/context/attribute_context.proto
 * (the Status and AttributeContext parts match google-gax 5.0.8's copies field for field). Names
 * are the proto3 JSON (lowerCamel) names, so the decoded JSON reads like `gcloud logging read`
 * output. The messages below look alike because every message is a list of fields: it is the
 * schema written out, not logic repeated, so there is nothing to fold into one.
 */

const STRUCT = 'google.protobuf.Struct';
const ANY = 'google.protobuf.Any';
const TIMESTAMP = 'google.protobuf.Timestamp';
const DURATION = 'google.protobuf.Duration';
const REPEATED = 'repeated';
const stringMap = (id: number) => ({ keyType: 'string', type: 'string', id });

const AUDIT: INamespace = {
  nested: {
    AuditLog: {
      fields: {
        serviceName: { type: 'string', id: 7 },
        methodName: { type: 'string', id: 8 },
        resourceName: { type: 'string', id: 11 },
        resourceLocation: { type: 'ResourceLocation', id: 20 },
        resourceOriginalState: { type: STRUCT, id: 19 },
        numResponseItems: { type: 'int64', id: 12 },
        status: { type: 'google.rpc.Status', id: 2 },
        authenticationInfo: { type: 'AuthenticationInfo', id: 3 },
        authorizationInfo: { rule: REPEATED, type: 'AuthorizationInfo', id: 9 },
        policyViolationInfo: { type: 'PolicyViolationInfo', id: 25 },
        requestMetadata: { type: 'RequestMetadata', id: 4 },
        request: { type: STRUCT, id: 16 },
        response: { type: STRUCT, id: 17 },
        metadata: { type: STRUCT, id: 18 },
        serviceData: { type: ANY, id: 15 },
      },
    },
    AuthenticationInfo: {
      fields: {
        principalEmail: { type: 'string', id: 1 },
        authoritySelector: { type: 'string', id: 2 },
        thirdPartyPrincipal: { type: STRUCT, id: 4 },
        serviceAccountKeyName: { type: 'string', id: 5 },
        serviceAccountDelegationInfo: { rule: REPEATED, type: 'ServiceAccountDelegationInfo', id: 6 },
        principalSubject: { type: 'string', id: 8 },
      },
    },
    AuthorizationInfo: {
      fields: {
        resource: { type: 'string', id: 1 },
        permission: { type: 'string', id: 2 },
        granted: { type: 'bool', id: 3 },
        resourceAttributes: { type: 'google.rpc.context.AttributeContext.Resource', id: 5 },
        permissionType: { type: 'PermissionType', id: 7 },
      },
      nested: {
        PermissionType: {
          values: { PERMISSION_TYPE_UNSPECIFIED: 0, ADMIN_READ: 1, ADMIN_WRITE: 2, DATA_READ: 3, DATA_WRITE: 4 },
        },
      },
    },
    RequestMetadata: {
      fields: {
        callerIp: { type: 'string', id: 1 },
        callerSuppliedUserAgent: { type: 'string', id: 2 },
        callerNetwork: { type: 'string', id: 3 },
        requestAttributes: { type: 'google.rpc.context.AttributeContext.Request', id: 7 },
        destinationAttributes: { type: 'google.rpc.context.AttributeContext.Peer', id: 8 },
      },
    },
    ResourceLocation: {
      fields: {
        currentLocations: { rule: REPEATED, type: 'string', id: 1 },
        originalLocations: { rule: REPEATED, type: 'string', id: 2 },
      },
    },
    ServiceAccountDelegationInfo: {
      oneofs: { Authority: { oneof: ['firstPartyPrincipal', 'thirdPartyPrincipal'] } },
      fields: {
        principalSubject: { type: 'string', id: 3 },
        firstPartyPrincipal: { type: 'FirstPartyPrincipal', id: 1 },
        thirdPartyPrincipal: { type: 'ThirdPartyPrincipal', id: 2 },
      },
      nested: {
        FirstPartyPrincipal: {
          fields: { principalEmail: { type: 'string', id: 1 }, serviceMetadata: { type: STRUCT, id: 2 } },
        },
        ThirdPartyPrincipal: { fields: { thirdPartyClaims: { type: STRUCT, id: 1 } } },
      },
    },
    PolicyViolationInfo: { fields: { orgPolicyViolationInfo: { type: 'OrgPolicyViolationInfo', id: 1 } } },
    OrgPolicyViolationInfo: {
      fields: {
        payload: { type: STRUCT, id: 1 },
        resourceType: { type: 'string', id: 2 },
        resourceTags: stringMap(3),
        violationInfo: { rule: REPEATED, type: 'ViolationInfo', id: 4 },
      },
    },
    ViolationInfo: {
      fields: {
        constraint: { type: 'string', id: 1 },
        errorMessage: { type: 'string', id: 2 },
        checkedValue: { type: 'string', id: 3 },
        policyType: { type: 'PolicyType', id: 4 },
      },
      nested: {
        PolicyType: {
          values: { POLICY_TYPE_UNSPECIFIED: 0, BOOLEAN_CONSTRAINT: 1, LIST_CONSTRAINT: 2, CUSTOM_CONSTRAINT: 3 },
        },
      },
    },
  },
};

const ATTRIBUTE_CONTEXT: IType = {
  fields: {
    origin: { type: 'Peer', id: 7 },
    source: { type: 'Peer', id: 1 },
    destination: { type: 'Peer', id: 2 },
    request: { type: 'Request', id: 3 },
    response: { type: 'Response', id: 4 },
    resource: { type: 'Resource', id: 5 },
    api: { type: 'Api', id: 6 },
    extensions: { rule: REPEATED, type: ANY, id: 8 },
  },
  nested: {
    Peer: {
      fields: {
        ip: { type: 'string', id: 1 },
        port: { type: 'int64', id: 2 },
        labels: stringMap(6),
        principal: { type: 'string', id: 7 },
        regionCode: { type: 'string', id: 8 },
      },
    },
    Api: {
      fields: {
        service: { type: 'string', id: 1 },
        operation: { type: 'string', id: 2 },
        protocol: { type: 'string', id: 3 },
        version: { type: 'string', id: 4 },
      },
    },
    Auth: {
      fields: {
        principal: { type: 'string', id: 1 },
        audiences: { rule: REPEATED, type: 'string', id: 2 },
        presenter: { type: 'string', id: 3 },
        claims: { type: STRUCT, id: 4 },
        accessLevels: { rule: REPEATED, type: 'string', id: 5 },
      },
    },
    Request: {
      fields: {
        id: { type: 'string', id: 1 },
        method: { type: 'string', id: 2 },
        headers: stringMap(3),
        path: { type: 'string', id: 4 },
        host: { type: 'string', id: 5 },
        scheme: { type: 'string', id: 6 },
        query: { type: 'string', id: 7 },
        time: { type: TIMESTAMP, id: 9 },
        size: { type: 'int64', id: 10 },
        protocol: { type: 'string', id: 11 },
        reason: { type: 'string', id: 12 },
        auth: { type: 'Auth', id: 13 },
        origin: { type: 'string', id: 14 },
      },
    },
    Response: {
      fields: {
        code: { type: 'int64', id: 1 },
        size: { type: 'int64', id: 2 },
        headers: stringMap(3),
        time: { type: TIMESTAMP, id: 4 },
        backendLatency: { type: DURATION, id: 5 },
      },
    },
    Resource: {
      fields: {
        service: { type: 'string', id: 1 },
        name: { type: 'string', id: 2 },
        type: { type: 'string', id: 3 },
        labels: stringMap(4),
        uid: { type: 'string', id: 5 },
        annotations: stringMap(6),
        displayName: { type: 'string', id: 7 },
        createTime: { type: TIMESTAMP, id: 8 },
        updateTime: { type: TIMESTAMP, id: 9 },
        deleteTime: { type: TIMESTAMP, id: 10 },
        etag: { type: 'string', id: 11 },
        location: { type: 'string', id: 12 },
      },
    },
  },
};

/** `google.cloud.audit`, `google.rpc.Status` and `google.rpc.context.AttributeContext`. */
export const AUDIT_LOG_DESCRIPTOR: INamespace = {
  nested: {
    google: {
      nested: {
        cloud: { nested: { audit: AUDIT } },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: REPEATED, type: ANY, id: 3 },
              },
            },
            context: { nested: { AttributeContext: ATTRIBUTE_CONTEXT } },
          },
        },
      },
    },
  },
};
