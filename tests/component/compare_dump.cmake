# cmake -DDUMP=component_dump -DFILE=x.wasm -DEXPECTED=x.expected -P compare_dump.cmake:
# the printed imports/exports of FILE must equal EXPECTED exactly.
execute_process(COMMAND ${DUMP} ${FILE} OUTPUT_VARIABLE got RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "component_dump ${FILE} failed (${rc}):\n${got}")
endif()
file(READ ${EXPECTED} want)
if(NOT got STREQUAL want)
  message(FATAL_ERROR "printed imports/exports differ from ${EXPECTED}\n--- got:\n${got}--- expected:\n${want}")
endif()
message(STATUS "${got}")
