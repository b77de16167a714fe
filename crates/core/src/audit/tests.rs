//! Tests of the rule pack and report building.
