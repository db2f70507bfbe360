"""Job handlers by kind. Each module defines a JobKind and is registered here.

Handlers import the ML engine inside their run functions, so the web process never imports torch.
"""

_registered = False


def register_all() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from importlib import import_module

    for module in _HANDLER_MODULES:
        import_module(f"{__name__}.{module}")


_HANDLER_MODULES: list[str] = ["generate", "snapshot", "expand", "score", "train_critic", "align", "retrain_loop"]
