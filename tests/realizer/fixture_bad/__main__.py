"""Each mode declares something the realizer must refuse with a clear error."""

import pulumi
import pulumi_docker as docker

mode = pulumi.Config().require("mode")

if mode == "service":  # a docker type the realizer does not apply
    docker.Service(
        "svc",
        name="rtest-svc",
        task_spec=docker.ServiceTaskSpecArgs(
            container_spec=docker.ServiceTaskSpecContainerSpecArgs(image="debian:trixie-slim")
        ),
    )
elif mode == "invoke":
    docker.get_network(name="bridge")
elif mode == "ssh-provider":
    remote = docker.Provider("remote", host="ssh://deploy@example.invalid")
    docker.Network("net", name="rtest-bad-net", opts=pulumi.ResourceOptions(provider=remote))
elif mode == "unknown-key":
    docker.Container("c", name="rtest-bad-c", image="debian:trixie-slim", gpus="all")
elif mode == "unhealthy":  # never becomes healthy: `up` must fail naming it, quickly
    base = docker.RemoteImage("base", name="debian:trixie-slim", keep_locally=True)
    docker.Container(
        "sick",
        name="rtest-bad-sick",
        image=base.image_id,
        command=["sh", "-c", "echo sick-log-line; sleep 60"],
        healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "false"], interval="500ms", retries=1),
        wait=True,
        wait_timeout=20,
    )
elif mode == "component":  # allowed: components only group resources

    class Group(pulumi.ComponentResource):
        def __init__(self, name):
            super().__init__("rtest:index:Group", name)
            self.net = docker.Network("inner", name=f"{name}-net", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    g = Group("rtest-group")
    pulumi.export("net", g.net.name)
    pulumi.export("secretValue", pulumi.Output.secret("s3"))
