"""A config with a mistake is refused with the file, line, column and key of the mistake, in plain words."""

from __future__ import annotations

from .reporting import problems_of, the_one_problem


def reported(text: str) -> str:
    """The one line the user sees for a config with exactly one mistake."""
    return the_one_problem(text)


def test_an_unknown_top_level_key_suggests_the_known_one() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        model: []
        """
    assert reported(text) == "plant.yaml:2:1: model: unknown key 'model'; did you mean 'models'?"


def test_a_typo_in_a_point_key_is_placed_on_that_key() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - name: motor_temperature
                kind: input
                adress: 100
        """
    assert reported(text) == (
        "plant.yaml:9:9: sources[0].points[0].adress: unknown key 'adress'; did you mean 'address'?"
    )


def test_a_register_address_beyond_the_modbus_range() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - name: motor_temperature
                kind: input
                address: 0
              - name: vibration_rms
                kind: input
                address: 1
              - name: flow_rate
                kind: input
                address: 70000
        """
    assert (
        reported(text) == "plant.yaml:15:9: sources[0].points[2].address: must be at most 65535 (got 70000)"
    )


def test_a_duration_without_a_unit_asks_for_one() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            poll: 5
            points: [{name: flow_rate, kind: input, address: 0}]
        """
    assert reported(text) == "plant.yaml:6:5: sources[0].poll: add a unit, e.g. 500ms, 2s, 1m (got 5)"


def test_a_duration_with_an_unknown_unit_lists_the_known_units() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            timeout: 2sec
            points: [{name: flow_rate, kind: input, address: 0}]
        """
    assert reported(text) == (
        "plant.yaml:6:5: sources[0].timeout: unknown unit 'sec' in '2sec'; use ms, s, m, h or d"
    )


def test_text_where_a_whole_number_belongs() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            port: abc
            points: [{name: flow_rate, kind: input, address: 0}]
        """
    assert reported(text) == "plant.yaml:6:5: sources[0].port: must be a whole number (got 'abc')"


def test_a_missing_required_key_is_placed_on_the_mapping_that_lacks_it() -> None:
    text = """\
        opcua:
          endpoint: opc.tcp://0.0.0.0:4840
        asset:
          global_asset_id: urn:example:asset:p1
        """
    assert reported(text) == "plant.yaml:3:1: asset.id: required key is missing"


def test_a_tag_defined_twice_across_sources_points_back_to_the_first() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - {name: door_open, kind: input, address: 0}
          - name: panel
            driver: gpio
            points:
              - {name: door_open, kind: input, pin: GPIO17}
        """
    assert reported(text) == (
        "plant.yaml:11:10: sources[1].points[0].name: tag 'door_open' is already defined at line 7"
    )


def test_overlapping_registers_name_the_point_they_overlap() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - {name: motor_temperature, kind: holding, address: 100, type: float32}
              - {name: oil_temperature, kind: holding, address: 101, type: float32}
        """
    assert reported(text) == (
        "plant.yaml:8:48: sources[0].points[1].address: "
        "registers 101..102 overlap point 'motor_temperature' (holding 100..101)"
    )


def test_an_input_register_cannot_be_writable() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - name: speed_setpoint
                kind: input
                address: 1
                writable: true
        """
    assert reported(text) == (
        "plant.yaml:10:9: sources[0].points[0].writable: "
        "input registers are read-only; only holding registers and coils can be writable"
    )


def test_an_unknown_driver_lists_the_known_ones() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbsu
            host: 192.168.10.20
        """
    assert reported(text) == (
        "plant.yaml:4:5: sources[0].driver: "
        "unknown driver 'modbsu'; known: gpio, modbus; did you mean 'modbus'?"
    )


def test_a_source_without_a_driver_is_told_which_drivers_exist() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            host: 192.168.10.20
        """
    assert reported(text) == (
        "plant.yaml:3:5: sources[0].driver: required key is missing; say which driver: gpio, modbus"
    )


def test_insecure_settings_are_refused_on_an_endpoint_other_machines_reach() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        opcua:
          endpoint: opc.tcp://0.0.0.0:4840
          insecure: {anonymous_read: true}
        """
    assert reported(text) == (
        "plant.yaml:4:3: opcua.insecure: insecure settings are only allowed on a loopback endpoint "
        "(opc.tcp://127.0.0.1:...)"
    )


def test_a_model_input_that_no_source_defines() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: motor_temperature, kind: input, address: 0, type: float32}]
        models:
          - name: pump_health
            file: pump_anomaly.tflite
            inputs:
              tags:
                - motor_temperature
                - motor_temprature
            outputs: [{name: anomaly_score}]
        """
    assert reported(text) == (
        "plant.yaml:13:11: models[0].inputs.tags[1]: "
        "no source or earlier model defines tag 'motor_temprature'; did you mean 'motor_temperature'?"
    )


def test_a_model_input_from_a_later_model_says_to_reorder() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: flow_rate, kind: input, address: 0}]
        models:
          - name: trend
            file: pump_anomaly.tflite
            inputs: {tags: [health_score]}
            outputs: [{name: trend_score}]
          - name: health
            file: pump_anomaly.tflite
            inputs: {tags: [flow_rate]}
            outputs: [{name: health_score}]
        """
    assert reported(text) == (
        "plant.yaml:10:21: models[0].inputs.tags[0]: "
        "tag 'health_score' is an output of model 'health', which comes later; list 'health' before 'trend'"
    )


def test_an_alarm_from_a_score_that_does_not_exist() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: flow_rate, kind: input, address: 0}]
        models:
          - name: pump_health
            file: pump_anomaly.tflite
            inputs: {tags: [flow_rate]}
            outputs:
              - {name: anomaly_score, index: 0}
              - {name: anomaly, from: anomaly_scor, above: 1.0}
        """
    assert reported(text) == (
        "plant.yaml:13:25: models[0].outputs[1].from: "
        "this model has no score output 'anomaly_scor'; did you mean 'anomaly_score'?"
    )


def test_an_alarm_that_could_never_clear() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: flow_rate, kind: input, address: 0}]
        models:
          - name: pump_health
            file: pump_anomaly.tflite
            inputs: {tags: [flow_rate]}
            outputs:
              - {name: anomaly_score}
              - name: anomaly
                from: anomaly_score
                above: 0.7
                clear_below: 1.0
        """
    assert reported(text) == (
        "plant.yaml:16:9: models[0].outputs[1].clear_below: "
        "must be at most above (0.7) so the alarm can clear (got 1)"
    )


def test_a_yaml_syntax_error_is_placed() -> None:
    text = """\
        asset:
          id: urn:example:aas:p1
          global_asset_id: urn:example:asset:p1
        opcua:
          endpoint: opc.tcp://0.0.0.0:4840
          security: [Basic256Sha256
        sources: []
        """
    problem = problems_of(text)[0]
    assert (problem.line, problem.column, problem.path) == (7, 8, "")


def test_a_key_written_twice_is_refused_where_it_repeats() -> None:
    text = """\
        asset:
          id: urn:example:aas:p1
          global_asset_id: urn:example:asset:p1
          id: urn:example:aas:p2
        """
    assert reported(text) == "plant.yaml:4:3: key 'id' appears twice in the same mapping"


def test_a_country_must_be_a_two_letter_code() -> None:
    text = """\
        asset:
          id: urn:example:aas:p1
          global_asset_id: urn:example:asset:p1
          nameplate:
            manufacturer_name: ACME Pumpen GmbH
            product_designation: Centrifugal pump CP-200
            serial_number: CP200-4711
            address:
              city: Musterstadt
              country: Germany
        """
    assert reported(text) == (
        "plant.yaml:10:7: asset.nameplate.address.country: "
        "must be a two-letter country code in capitals, like DE or US (got 'Germany')"
    )


def test_a_float32_point_needs_room_for_its_second_register() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points:
              - name: motor_temperature
                kind: holding
                type: float32
                address: 65535
        """
    assert reported(text) == (
        "plant.yaml:10:9: sources[0].points[0].address: "
        "a float32 point takes 2 registers, so its address must be at most 65534 (got 65535)"
    )


def test_the_same_pin_twice_in_one_source() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: panel
            driver: gpio
            points:
              - {name: door_open, kind: input, pin: GPIO17}
              - {name: flow_pulses, kind: counter, pin: 17}
        """
    assert reported(text) == (
        "plant.yaml:7:44: sources[0].points[1].pin: pin GPIO17 is already used by point 'door_open'"
    )


def test_an_unknown_kind_of_gpio_point_lists_the_known_kinds() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: panel
            driver: gpio
            points:
              - {name: alarm_lamp, kind: relay, pin: GPIO22}
        """
    assert reported(text) == (
        "plant.yaml:6:28: sources[0].points[0].kind: unknown kind 'relay'; known: counter, input, "
        "mcp3001, mcp3002, mcp3004, mcp3008, mcp3201, mcp3202, mcp3204, mcp3208, mcp3301, mcp3302, mcp3304, "
        "output, pwm"
    )


def test_a_counter_rate_tag_clashing_with_a_point_says_where_the_name_comes_from() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: flow_pulses_rate, kind: input, address: 0}]
          - name: panel
            driver: gpio
            points:
              - {name: flow_pulses, kind: counter, pin: GPIO27}
        """
    assert reported(text) == (
        "plant.yaml:10:10: sources[1].points[0].name: tag 'flow_pulses_rate' "
        "(the pulse rate of counter 'flow_pulses') is already defined at line 6"
    )


def test_a_name_that_cannot_be_an_opc_ua_browse_name() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        sources:
          - name: pump-plc
            driver: modbus
            host: 192.168.10.20
            points: [{name: flow_rate, kind: input, address: 0}]
        """
    assert reported(text) == (
        "plant.yaml:3:5: sources[0].name: must start with a letter and hold only letters, digits and '_' "
        "(got 'pump-plc')"
    )


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = """\
        asset: {id: urn:example:aas:p1, global_asset_id: urn:example:asset:p1}
        opcua:
          limits: {max_sessions: 0}
        sources:
          - name: plc
            driver: modbus
            host: 192.168.10.20
            poll: fast
            points: [{name: flow_rate, kind: input, address: -1}]
        """
    assert [(p.line, p.path) for p in problems_of(text)] == [
        (3, "opcua.limits.max_sessions"),
        (8, "sources[0].poll"),
        (9, "sources[0].points[0].address"),
    ]
