import type { INamespace, IType } from 'protobufjs';

/**
 * The Cloud Audit Logs message types as a protobufjs JSON descriptor. No installed package ships
 * `google.cloud.audit.AuditLog`, so the gRPC client hands GKE audit payloads back as an undecoded
 * `Any`; this is the definition they are decoded with. Field names, numbers and types are the
 * documented wire contract: googleapis `google/cloud/audit/audit_log.proto` (AuditLog and its
 * parts), `google/rpc/status.proto` and `google/rpc/context/attribute_context.proto`. Names are the
 * proto3 JSON (lowerCamel) names, so the decoded JSON reads like `gcloud logging read` output.
 * The `google.protobuf` well-known types come from protobufjs' bundled copies.
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
