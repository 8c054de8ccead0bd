"""Reads infra/template.yaml and evaluates its intrinsic functions for one local "stack".

Only what the template uses is supported; anything else raises, so a template change that the
local stack cannot follow fails loudly instead of creating something different.
"""

import json
import re

import yaml

NO_VALUE = object()

# Short-form tags to their long form: !Ref x -> {"Ref": x}, !GetAtt a.b -> {"Fn::GetAtt": [a, b]}.
_TAGS = ["Ref", "Condition", "GetAtt", "Sub", "If", "Not", "Equals", "And", "Or", "Join", "Select",
         "Split", "FindInMap", "Base64", "GetAZs", "ImportValue", "Cidr"]


class _Loader(yaml.SafeLoader):
    pass


def _constructor(tag):
    key = tag if tag in ("Ref", "Condition") else "Fn::" + tag

    def construct(loader, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _tag in _TAGS:
    _Loader.add_constructor("!" + _tag, _constructor(_tag))


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


class Stack:
    """A template with parameter values, pseudo parameters and the physical ids of resources."""

    def __init__(self, template, parameters, pseudo):
        self.template = template
        self.resources = template["Resources"]
        self.parameters = {}
        for name, spec in template.get("Parameters", {}).items():
            value = parameters.get(name, spec.get("Default"))
            if value is None:
                raise ValueError(f"parameter {name} has no default and no local value")
            self.parameters[name] = str(value)
        self.pseudo = pseudo
        # Ref and GetAtt of resources, filled in by the provisioner as it creates them.
        self.refs = {}
        self.attributes = {}

    def condition(self, name):
        return bool(self.eval(self.template["Conditions"][name]))

    def eval(self, value):
        """Evaluates intrinsics; dynamic references ({{resolve:...}}) are left as text."""
        if isinstance(value, list):
            items = [self.eval(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        out = {}
        for k, v in value.items():
            v = self.eval(v)
            if v is not NO_VALUE:
                out[k] = v
        return out

    def _ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"Ref {name}: not a parameter, and no local resource answers it")

    def _get_att(self, resource, attribute):
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise KeyError(f"GetAtt {resource}.{attribute}: no local resource answers it") from None

    def _function(self, name, arg):
        if name == "GetAtt":
            return self._get_att(*arg)
        if name == "Sub":
            return self._sub(arg)
        if name == "If":
            cond, yes, no = arg
            return self.eval(yes if self.condition(cond) else no)
        if name == "Not":
            return not self.eval(arg[0])
        if name == "Equals":
            a, b = (self.eval(v) for v in arg)
            return str(a) == str(b)
        if name == "And":
            return all(self.eval(v) for v in arg)
        if name == "Or":
            return any(self.eval(v) for v in arg)
        if name == "Join":
            sep, items = arg
            return sep.join(str(v) for v in self.eval(items))
        raise ValueError(f"Fn::{name} is not supported by the local stack")

    def _sub(self, arg):
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        extra = {k: self.eval(v) for k, v in extra.items()}

        def replace(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def of_type(self, kind):
        """(logical id, resource) of one type, in template order, skipping false conditions."""
        for name, resource in self.resources.items():
            if resource["Type"] != kind:
                continue
            if "Condition" in resource and not self.condition(resource["Condition"]):
                continue
            yield name, resource


_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:secretsmanager:[^:}]+:SecretString:([A-Za-z0-9_]+)\}\}")


def resolve_secrets(value, secret):
    """Replaces Secrets Manager dynamic references by the matching key of a local secret."""

    def replace(match):
        key = match.group(1)
        if key not in secret:
            raise KeyError(f"the local secret has no {key}")
        return secret[key]

    if _DYNAMIC_REFERENCE.search(value):
        return _DYNAMIC_REFERENCE.sub(replace, value)
    if "{{resolve:" in value:
        raise ValueError(f"unsupported dynamic reference in {json.dumps(value)}")
    return value
