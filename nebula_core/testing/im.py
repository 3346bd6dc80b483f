"""The IM conformance suite: what ``nebula_core.drivers.im`` promises, checked against one driver.

Subclass it in the plugin's tests and name the entry point, or override the ``driver`` fixture::

    class TestMyIM(IMConformance):
        entry_point = "mydriver"

        def unreachable_host(self):
            return "nowhere.invalid", {}

The suite talks to the driver only through ``IMDriver``. The unreachable-host case runs when
the subclass provides ``unreachable_host()`` and is skipped, with the reason, when it does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from ..drivers import replies
from ..drivers.errors import HostUnreachable
from ..drivers.im import HostReport, IMDriver
from .suite import Conformance


class IMConformance(Conformance):
    """The contract of ``IMDriver``, one test per promise. Not collected itself (no ``Test`` prefix)."""

    kind: ClassVar[str] = "im"
    concurrency: ClassVar[int] = 8  # probes run at once by the thread-safety test

    # -- what a plugin may override ---------------------------------------------------------------

    @pytest.fixture
    def host(self) -> str:
        """A host that answers."""
        return "node1"

    @pytest.fixture
    def host_template(self) -> Mapping[str, str]:
        """The admin's attributes for ``host``, as probe() gets them."""
        return {}

    def unreachable_host(self) -> tuple[str, Mapping[str, str]]:
        """A host name and template that probe() must find unreachable.

        The default skips the test that asks: override it, e.g. with a name in the reserved
        ``.invalid`` domain, or a template that tells a fake to fail (the dummy: ``DUMMY_FAIL = probe``).
        """
        pytest.skip(f"{type(self).__name__} has no unreachable_host() to probe")

    def probe(self, driver: IMDriver, host: str, template: Mapping[str, str]) -> HostReport:
        """Probe and check the report as the monitor does."""
        return replies.host_report(driver.probe(host, dict(template)), "probe")

    # -- the contract -----------------------------------------------------------------------------

    def test_is_an_im_driver(self, driver: IMDriver) -> None:
        assert isinstance(driver, IMDriver)

    def test_probe_reports_the_host(self, driver: IMDriver, host: str, host_template: Mapping[str, str]) -> None:
        """A HostReport the monitor accepts: non-negative integer figures, string attributes, some capacity."""
        report = self.probe(driver, host, host_template)
        assert report.total_cpu > 0 and report.total_memory > 0, report

    def test_probing_again_reports_the_same_capacity(
        self, driver: IMDriver, host: str, host_template: Mapping[str, str]
    ) -> None:
        first, second = self.probe(driver, host, host_template), self.probe(driver, host, host_template)
        assert (second.total_cpu, second.total_memory) == (first.total_cpu, first.total_memory)

    def test_probe_leaves_the_template_alone(self, driver: IMDriver, host: str, host_template: Mapping[str, str]) -> None:
        template = dict(host_template)
        driver.probe(host, template)
        assert template == dict(host_template)

    def test_probes_from_many_threads_at_once(self, driver: IMDriver, host: str, host_template: Mapping[str, str]) -> None:
        """The monitor probes hosts from several workers on one instance."""
        with ThreadPoolExecutor(self.concurrency) as pool:
            reports = list(pool.map(lambda _: self.probe(driver, host, host_template), range(self.concurrency)))
        assert len({(r.total_cpu, r.total_memory) for r in reports}) == 1

    def test_an_unreachable_host_raises_host_unreachable(self, driver: IMDriver, host: str, host_template: Mapping[str, str]) -> None:
        """HostUnreachable, not another error, so that the host's ERROR says what happened; others still answer."""
        name, template = self.unreachable_host()
        with pytest.raises(HostUnreachable):
            driver.probe(name, dict(template))
        self.probe(driver, host, host_template)


__all__ = ["IMConformance"]
