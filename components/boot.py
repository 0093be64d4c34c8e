"""The start of every fleet instance's boot script, on either cloud. Pure: text only.

The service's systemd unit comes with the image; the boot script hands it its identity
(service, region, environment, port) and starts it before anything else runs, so nothing
added later (the metrics agent) can keep an instance from serving.
"""

from __future__ import annotations

import base64


def start_service(service: str, region: str, environment: str, port: int) -> str:
    return f"""#!/bin/bash
set -euo pipefail
install -d -m 0755 /etc/courier
cat > /etc/courier/service.env <<'ENV'
COURIER_SERVICE={service}
COURIER_REGION={region}
COURIER_ENVIRONMENT={environment}
COURIER_PORT={port}
ENV
systemctl enable --now courier-{service}.service
"""


def user_data(script: str) -> str:
    """User data as both EC2 launch templates and ESS scaling configurations take it."""
    return base64.b64encode(script.encode()).decode()
