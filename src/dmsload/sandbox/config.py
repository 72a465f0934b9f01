"""The sandbox's configuration: what `dmsload sandbox` options and tests set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dmsload.sandbox.faults import FaultSettings
from dmsload.sandbox.schema import ApiSchema, default_schema_path

#: Preseeded DMS client (the defaults of the DMS repo's bulk-load scripts).
DEFAULT_CLIENT_KEY = "minimalKey"
DEFAULT_CLIENT_SECRET = "minimalSecret"
#: Preseeded CMS admin client (`.env.example` of the DMS docker-compose stack).
ADMIN_CLIENT_ID = "DmsConfigurationService"
ADMIN_CLIENT_SECRET = "ValidClientSecret1234567890!Abcd"
#: An environment variable that fixes `dmsload sandbox`'s control token (else random per start).
CONTROL_TOKEN_ENV = "DMSLOAD_SANDBOX_CONTROL_TOKEN"


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes one sandbox app; one config gives one independent state."""

    schema_path: Path = field(default_factory=default_schema_path)
    schema: ApiSchema | None = None
    seed_descriptors: bool = False
    token_lifetime_s: int = 1800
    client_key: str = DEFAULT_CLIENT_KEY
    client_secret: str = DEFAULT_CLIENT_SECRET
    client_claim_set: str = "E2E-NoFurtherAuthRequiredClaimSet"
    admin_client_id: str = ADMIN_CLIENT_ID
    admin_client_secret: str = ADMIN_CLIENT_SECRET
    max_page_size: int = 500
    correlation_header: str = "correlationid"
    #: `CacheSettings:ClaimSetsCacheExpirationSeconds` of DMS: uploaded claims take effect after
    #: `POST /management/reload-claimsets`, or once the cached copy is this old.
    claim_set_cache_s: float = 600.0
    #: `AppSettings:DefaultPartitionCount` of DMS: `/partitions` without `number`.
    default_partition_count: int = 10
    #: CMS `ClaimsOptions:DangerouslyEnableUnrestrictedClaimsLoading`: when False the
    #: `/management/*-claims` routes answer 404, as in a stock `.env.example` stack.
    claims_loading: bool = True
    #: DMS `AppSettings:EnableClaimsetReload`: when False `POST /management/reload-claimsets`
    #: answers 404, as in a stock `.env.example` stack.
    claimset_reload: bool = True
    #: CMS `AppSettings:EnableApplicationResetEndpoint`: when True
    #: `PUT /v3/applications/{id}/reset-credential` gives the application's key a new secret;
    #: when False (the CMS default) the route is not mapped and answers 404.
    application_reset: bool = False
    #: Keep tombstones of deletes and records of natural-key changes and serve them on
    #: `/deletes` and `/keyChanges`, as the ODS/API does; when False both answer `[]`, as DMS
    #: does today.
    track_changes: bool = False
    #: Refuse (409) a document that carries several descriptors of one type, as some Ed-Fi
    #: APIs do (`--one-descriptor-per-type`).
    one_descriptor_per_type: bool = False
    #: Query filters on fields inside references (`studentSchoolAssociations?schoolId=`); when
    #: False they answer 400, as on some Ed-Fi APIs (`--no-reference-filters`).
    reference_filters: bool = True
    faults: FaultSettings = field(default_factory=FaultSettings)
    #: The bearer token the `/_sandbox/*` control routes require; None: a random one per state.
    control_token: str | None = None
