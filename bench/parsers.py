"""Parser figures: the template language and the scheduler's expressions. Printed, not asserted.

    .venv/bin/python bench/parsers.py
"""

from __future__ import annotations

import timeit

from nebula_core.scheduler.expr import compile_rank, compile_requirements
from nebula_core.template import parse


def best(call: object, number: int) -> float:
    """Seconds per call, best of five runs."""
    return min(timeit.repeat(call, number=number, repeat=5)) / number  # type: ignore[arg-type]


def main() -> None:
    lines = [f'NIC = [ NETWORK = "lan{i}", IP = 10.0.0.{i} ]' if i % 5 == 0 else f'ATTR_{i} = "value {i}"' for i in range(50)]
    text = "\n".join(lines)
    xml = parse(text).to_xml()
    print(f"template parse, 50 attributes (text)   {best(lambda: parse(text), 200) * 1e6:8.0f} us")
    print(f"template parse, 50 attributes (XML)    {best(lambda: parse(xml), 200) * 1e6:8.0f} us")
    template = parse(text)
    print(f"template to_xml, 50 attributes         {best(template.to_xml, 500) * 1e6:8.0f} us")
    check = compile_requirements('FREE_CPU > 100 & HYPERVISOR = "kvm*" | !(ID = 3)')
    hosts = [{"FREE_CPU": str(i), "HYPERVISOR": "kvm", "ID": i % 5}.get for i in range(1000)]
    print(f"REQUIREMENTS over 1,000 hosts          {best(lambda: [check(h) for h in hosts], 20) * 1e3:8.2f} ms")
    rank = compile_rank("FREE_CPU * 2 - RUNNING_VMS / 3")
    print(f"RANK over 1,000 hosts                  {best(lambda: [rank(h) for h in hosts], 20) * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
