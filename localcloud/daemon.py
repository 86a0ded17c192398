"""The local cloud's server process: moto's API, the instances, the image origin, the metrics
publisher, the alarm evaluator, the runner of the alarms' actions, the load balancers and the
keeper of the Auto Scaling groups.

`localcloud up` starts it in the background; `localcloud down` sends it SIGTERM, and it
removes every container and namespace it made before it exits.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading

from . import config


def _prepare_moto_environment(settings: config.Settings) -> None:
    # moto's request recorder (used by the benchmarks to count API calls) writes to its working
    # directory unless told otherwise: keep it in the cloud's home, never in the project tree.
    os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(settings.home / "moto_recording"))
    # Behave like AWS where moto can: unknown key pairs and AMIs fail RunInstances.
    os.environ.setdefault("MOTO_ENABLE_KEYPAIR_VALIDATION", "true")
    os.environ.setdefault("MOTO_ENABLE_AMI_VALIDATION", "true")
    os.environ.setdefault("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")


def main() -> int:
    settings = config.load()
    settings.home.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        handlers=[logging.StreamHandler(sys.stderr)],
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    log = logging.getLogger("localcloud").info
    _prepare_moto_environment(settings)
    from . import iam

    iam.prepare_environment(settings)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from . import autoscaling, awsrules, cloudwatch, cpu_credits, motopatch, outbox
    from .alarm_actions import ActionRunner
    from .balancer import Balancers
    from .evaluator import AlarmEvaluator
    from .faults import FaultInjector, FaultRuleError, Faults
    from .groups import GroupKeeper
    from .localapi import LocalApi
    from .metrics import MetricsPublisher
    from .origin import Origin, OriginServer
    from .runtime import Cloud
    from .s3gate import AnonymousS3Gate

    cloud = Cloud(settings, log)
    orphans = cloud.sweep()
    if orphans:
        log(f"removed {orphans} container(s) left by an earlier run")
    motopatch.install(cloud)
    autoscaling.install()
    balancers = Balancers(cloud, log)
    balancers.install()
    awsrules.install(settings, cloud.terminated_at)
    iam.install(settings)
    cloudwatch.install()
    mail = outbox.Outbox(settings.outbox_file)
    outbox.install(mail)
    evaluator = AlarmEvaluator(settings, cloudwatch.TRANSITIONS, log)
    runner = ActionRunner(settings, cloudwatch.HISTORY, cloudwatch.TRANSITIONS, log)

    try:
        faults = Faults.from_json(settings.faults, log)
    except (ValueError, FaultRuleError) as exc:
        raise SystemExit(f"LOCALCLOUD_FAULTS: {exc}") from None
    aws = FaultInjector(AnonymousS3Gate(DomainDispatcherApplication(create_backend_app), log), faults)
    app = LocalApi(aws, evaluator, cloudwatch.TRANSITIONS, mail, faults, cloud)
    api = make_server(settings.host, settings.port, app, threaded=True)
    origin = OriginServer(settings.host, settings.origin_port, Origin(settings.origin_dir), log)
    origin.start()
    credit_keeper = cpu_credits.Credits(log, cloud.cgroup_of)
    cpu_credits.install_modify_credit_specification(credit_keeper.switched)
    publisher = MetricsPublisher(cloud, settings, balancers, credit_keeper)
    publisher.start()
    runner.start()
    evaluator.start()
    balancers.start()
    keeper = GroupKeeper(settings, balancers, log)
    keeper.start()

    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        if stopping.is_set():
            return
        stopping.set()
        log(f"signal {signum}: stopping")
        threading.Thread(target=api.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    iam_mode = "enforced" if settings.iam_enforced else "not checked"
    log(f"AWS APIs at {settings.endpoint} (IAM {iam_mode}), image origin at {settings.origin_url}, pid {os.getpid()}")
    for rule in faults.listed():
        log(f"fault rule: {json.dumps(rule)}")
    settings.pid_file.write_text(str(os.getpid()))
    try:
        api.serve_forever()
    finally:
        keeper.stop()
        balancers.stop()
        evaluator.stop()
        runner.stop()
        publisher.stop()
        removed = cloud.shutdown()
        origin.shutdown()
        log(f"stopped; removed {removed} container(s)")
        settings.pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
